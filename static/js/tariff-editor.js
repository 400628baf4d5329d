// The tariff editor (templates/admin/tariffs/tariff/editor.html): show the tables of the chosen kind
// as soon as it is chosen. Without this script the "Show the tables of this kind" button does it on
// the server; every table row is added and removed by submit buttons, so nothing needs a script.
"use strict";
(function () {
  function show(form, kind) {
    form.dataset.kind = kind;
    form.querySelectorAll("[data-kinds]").forEach(function (el) {
      el.hidden = el.dataset.kinds.split(" ").indexOf(kind) < 0;
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("tariff-editor");
    var kind = form && form.querySelector("select[name=kind]");
    if (!kind) return;
    kind.addEventListener("change", function () { show(form, kind.value); });
    var refresh = document.getElementById("refresh-kind");
    if (refresh) refresh.hidden = true;
  });
})();
