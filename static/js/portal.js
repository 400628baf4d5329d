/* The customer portal: copy buttons, amount presets, the consumption chart and the order page's
   status check. No inline script anywhere (script-src 'self'); every handler is attached here by
   element or data attribute, so a page without that element does nothing. */
(function () {
  "use strict";

  // Copy a token (digits only) to the clipboard; the button says "Copied" for a moment.
  function copyButtons() {
    document.querySelectorAll("button[data-copy]").forEach(function (b) {
      b.addEventListener("click", function () {
        var text = b.dataset.copy;
        var label = b.textContent;
        function done() {
          b.textContent = b.dataset.done || label;
          setTimeout(function () { b.textContent = label; }, 1500);
        }
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(done, function () { fallback(text); done(); });
        } else {
          fallback(text);
          done();
        }
      });
    });
  }

  function fallback(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } catch (e) { /* nothing more to try */ }
    document.body.removeChild(area);
  }

  // One-tap amounts on the buy page.
  function presets() {
    var input = document.getElementById("id_amount");
    if (!input) return;
    document.querySelectorAll("button[data-amount]").forEach(function (b) {
      b.addEventListener("click", function () {
        input.value = b.dataset.amount;
        input.focus();
      });
    });
  }

  // The consumption chart (ECharts, vendored): daily or monthly, stacked by TOU period when known.
  function chart() {
    var el = document.getElementById("consumption-chart");
    if (!el || typeof window.echarts === "undefined") return;
    var c = window.echarts.init(el);
    var d = el.dataset;
    function load(period) {
      document.querySelectorAll(".p-chart-tools [data-period]").forEach(function (b) {
        b.setAttribute("aria-pressed", b.dataset.period === period ? "true" : "false");
      });
      fetch(d.url + "?period=" + period, { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          var tou = ["sharp", "peak", "flat", "valley"].filter(function (k) { return (data[k] || []).length; });
          var series = tou.length
            ? tou.map(function (k) { return { name: d[k], type: "bar", stack: "tou", data: data[k].map(Number) }; })
            : [{ name: d.total, type: "bar", data: (data.total || []).map(Number) }];
          c.setOption({
            title: (data.buckets || []).length ? { show: false }
              : { text: d.empty, left: "center", top: "middle", textStyle: { fontSize: 14, color: "#6b7785" } },
            tooltip: { trigger: "axis" },
            legend: { top: 0 },
            grid: { left: 40, right: 8, top: 32, bottom: 28, containLabel: true },
            xAxis: { type: "category", data: data.buckets || [] },
            yAxis: { type: "value", name: d.unit },
            series: series,
          }, true);
        });
    }
    document.querySelectorAll(".p-chart-tools [data-period]").forEach(function (b) {
      b.addEventListener("click", function () { load(b.dataset.period); });
    });
    window.addEventListener("resize", function () { c.resize(); });
    load("day");
  }

  // The order page: while the order waits for payment, ask every 2 s (for 15 min) and reload once
  // its status changes (paid and sold, or waiting for the office).
  function orderStatus() {
    var el = document.getElementById("order");
    if (!el || el.dataset.status !== "created") return;
    var tries = 0;
    var timer = setInterval(function () {
      tries += 1;
      if (tries > 450) { clearInterval(timer); return; }
      fetch(el.dataset.statusUrl, { credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (data && data.status && data.status !== "created") {
            clearInterval(timer);
            window.location.reload();
          }
        })
        .catch(function () { /* offline for a moment: try again at the next tick */ });
    }, 2000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    copyButtons();
    presets();
    chart();
    orderStatus();
  });
})();
