/* Every page: what htmx does not show on its own. A refusal the server renders (400, 409, 422) is
   swapped in like any answer (the htmx-config meta tag in base.html); any other failed request
   (signed out, forbidden, gone, a server error, no network) says so in #request-error instead of
   leaving the screen silently unchanged. */
(function () {
  "use strict";

  function show(kind) {
    var box = document.getElementById("request-error");
    if (!box) return;
    box.textContent = box.dataset[kind] || box.dataset.failed;
    box.hidden = false;
  }

  function hide() {
    var box = document.getElementById("request-error");
    if (box) box.hidden = true;
  }

  // A button with data-print prints the page (no inline onclick: the Content-Security-Policy
  // allows scripts from our own files only).
  document.addEventListener("click", function (e) {
    if (e.target.closest && e.target.closest("[data-print]")) window.print();
  });

  document.addEventListener("htmx:responseError", function (e) {
    var status = e.detail.xhr ? e.detail.xhr.status : 0;
    show(status === 401 ? "signedOut" : status === 403 ? "forbidden" : status === 404 ? "missing" : "failed");
  });
  document.addEventListener("htmx:sendError", function () { show("offline"); });
  document.addEventListener("htmx:afterRequest", function (e) {
    if (e.detail.successful) hide();
  });
})();
