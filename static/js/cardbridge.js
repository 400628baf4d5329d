/* The counter's devices: IC cards through the card bridge (`prepay cardbridge`, a small service on
   127.0.0.1 of this PC) and the thermal receipt printer.

   - F4 / "Read card": the bridge reads the card; its purchase is posted to the server, which opens
     the account the card belongs to (插卡查询).
   - F8 / "Write to card": the bridge writes the sealed purchase image and reads it back; the read-back
     is posted to the server, which marks the purchase written (or says it is not on the card).
   - F9 (or P outside a text box): print the receipt on the counter's thermal printer — the original
     first, then counted re-prints. A USB printer at this PC is printed to through the bridge.

   The bridge answers only this site's pages and only with the pairing code it shows when it starts:
   the cashier types it once; it is kept for this browser session (sessionStorage). No inline script:
   everything is attached here by element id (the Content-Security-Policy). */
(function () {
  "use strict";
  var CODE = "prepay.cardbridge.code";
  var pending = null; // the action to run again once a pairing code is given

  function root() { return document.getElementById("cardbridge"); }
  function msg(name) { var r = root(); return r ? r.dataset["msg" + name] || "" : ""; }

  function status(text, isError) {
    var el = document.getElementById("bridge-status");
    if (!el) return;
    el.textContent = text;
    el.classList.toggle("error", !!isError);
  }

  function code() {
    try { return window.sessionStorage.getItem(CODE) || ""; } catch (e) { return ""; }
  }

  function setCode(value) {
    try { window.sessionStorage.setItem(CODE, value); } catch (e) { /* private mode: ask again */ }
  }

  // POST to the bridge; resolves with its JSON answer, rejects with {code, message}.
  function bridge(path, body) {
    var r = root();
    if (!r || !r.dataset.url) return Promise.reject({ code: "offline" });
    if (!code()) return Promise.reject({ code: "pairing_required" });
    return fetch(r.dataset.url + path, {
      method: "POST",
      mode: "cors",
      credentials: "omit",
      cache: "no-store",
      headers: { "Content-Type": "application/json", "Authorization": "Bearer " + code() },
      body: JSON.stringify(body || {}),
    }).then(function (res) {
      return res.json().catch(function () { return {}; }).then(function (data) {
        if (!res.ok) throw { code: data.code || "failed", message: data.message || String(res.status) };
        return data;
      });
    }, function () { throw { code: "offline" }; });
  }

  function askCode() {
    var form = document.getElementById("bridge-pair");
    if (!form) return;
    form.hidden = false;
    document.getElementById("bridge-code").focus();
  }

  function explain(err) {
    var names = { offline: "Offline", pairing_required: "Pair", no_card: "NoCard", no_reader: "NoReader", locked: "Locked" };
    if (err.code === "pairing_required") askCode();
    status(names[err.code] ? msg(names[err.code]) : msg("Failed") + " " + (err.message || err.code), true);
  }

  function run(action) {
    pending = action;
    action().catch(explain);
  }

  // ----------------------------------------------------------------------------------------------
  // IC cards
  // ----------------------------------------------------------------------------------------------
  function writeCard() {
    var panel = document.getElementById("card-write");
    var form = document.getElementById("card-written-form");
    if (!panel || !form || panel.dataset.written) return;
    run(function () {
      status(msg("Writing"), false);
      return bridge("/v1/card/write", { image: panel.dataset.image }).then(function (data) {
        form.querySelector("[name=read_back]").value = data.image || "";
        status("", false);
        form.requestSubmit();
      });
    });
  }

  function readCard() {
    var form = document.getElementById("card-read-form");
    if (!form) return;
    run(function () {
      status(msg("Reading"), false);
      return bridge("/v1/card/read", {}).then(function (data) {
        if (!data.image) { status(msg("Blank"), true); return; }
        status("", false);
        form.querySelector("[name=image]").value = data.image;
        form.requestSubmit();
      });
    });
  }

  // ----------------------------------------------------------------------------------------------
  // Printing on a USB printer at this PC, through the bridge (network printers: htmx, server side)
  // ----------------------------------------------------------------------------------------------
  function csrf(form) {
    var input = form.querySelector("[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function post(url, form, fields) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf(form), "HX-Request": "true" },
      body: new URLSearchParams(fields || {}),
    });
  }

  function replacePanel(html) {
    var old = document.getElementById("print-panel");
    if (!old) return;
    old.outerHTML = html;
    var fresh = document.getElementById("print-panel");
    if (fresh && window.htmx) window.htmx.process(fresh);
  }

  function bridgePrint(form) {
    status(msg("Printing"), false);
    post(form.action, form).then(function (res) {
      return res.json().then(function (order) {
        if (!res.ok) throw { code: order.code, message: order.message };
        return order;
      });
    }).then(function (order) {
      return bridge("/v1/print", { data: order.data }).then(
        function (answer) { return { order: order, sent: answer.sent || 0, error: "" }; },
        function (err) { explain(err); return { order: order, sent: 0, error: err.message || err.code }; }
      );
    }).then(function (out) {
      return post(out.order.finish, form, { sent: out.sent, error: out.error })
        .then(function (res) { return res.text(); })
        .then(function (html) {
          replacePanel(html);
          if (!out.error) status("", false);
        });
    }).catch(explain);
  }

  // ----------------------------------------------------------------------------------------------
  // Wiring: pairing form, buttons (delegated: htmx swaps them in), keys
  // ----------------------------------------------------------------------------------------------
  function typing(e) {
    var t = e.target;
    return t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
  }

  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (form.id === "bridge-pair") {
      e.preventDefault();
      setCode(document.getElementById("bridge-code").value.trim());
      form.hidden = true;
      status(msg("Paired"), false);
      if (pending) run(pending);
    } else if (form.id === "print-thermal-form" && form.dataset.bridgePrint) {
      e.preventDefault();
      bridgePrint(form);
    }
  });

  document.addEventListener("click", function (e) {
    if (!e.target.closest) return;
    if (e.target.closest("#card-write-button")) writeCard();
    else if (e.target.closest("#card-read-button")) readCard();
  });

  document.addEventListener("keydown", function (e) {
    var plainP = (e.key === "p" || e.key === "P") && !typing(e) && !e.ctrlKey && !e.metaKey && !e.altKey;
    if (e.key === "F9" || plainP) {
      var printer = document.getElementById("print-thermal") || document.getElementById("print-receipt");
      if (printer) {
        e.preventDefault();
        printer.click();
      }
    } else if (e.key === "F8" && document.getElementById("card-write-button")) {
      e.preventDefault();
      writeCard();
    } else if (e.key === "F4" && document.getElementById("card-read-form")) {
      e.preventDefault();
      readCard();
    }
  });
})();
