/* Counter and clerk screens: small, no build step. htmx does the requests; this file only adds
   keyboard handling and the consumption chart. Every handler is attached by element id, so a page
   without that element does nothing. */
(function () {
  "use strict";

  // ----------------------------------------------------------------------------------------------
  // Consumption chart (customer view): ECharts, daily / monthly, stacked by TOU period when known.
  // ----------------------------------------------------------------------------------------------
  function consumptionChart() {
    var el = document.getElementById("consumption-chart");
    if (!el || typeof window.echarts === "undefined") return;
    var chart = window.echarts.init(el);
    var d = el.dataset;
    function load(period) {
      document.querySelectorAll(".chart-tools [data-period]").forEach(function (b) {
        b.setAttribute("aria-pressed", b.dataset.period === period ? "true" : "false");
      });
      fetch(d.url + "?period=" + period, { credentials: "same-origin" })
        .then(function (r) { return r.json(); })
        .then(function (data) {
          var tou = ["sharp", "peak", "flat", "valley"].filter(function (k) { return data[k].length; });
          var series = tou.length
            ? tou.map(function (k) {
                return { name: d["label" + k.charAt(0).toUpperCase() + k.slice(1)], type: "bar", stack: "tou", data: data[k].map(Number) };
              })
            : [{ name: d.labelTotal, type: "bar", data: data.total.map(Number) }];
          chart.setOption({
            title: data.buckets.length ? { show: false } : { text: d.empty, left: "center", top: "middle", textStyle: { fontSize: 14, color: "#616e7c" } },
            tooltip: { trigger: "axis" },
            legend: { top: 0 },
            grid: { left: 48, right: 16, top: 32, bottom: 32 },
            xAxis: { type: "category", data: data.buckets },
            yAxis: { type: "value" },
            series: series,
          }, true);
        });
    }
    document.querySelectorAll(".chart-tools [data-period]").forEach(function (b) {
      b.addEventListener("click", function () { load(b.dataset.period); });
    });
    window.addEventListener("resize", function () { chart.resize(); });
    load("day");
  }

  // ----------------------------------------------------------------------------------------------
  // The vending counter: Enter / arrows / F2 / Esc. The server does the rest (htmx swaps).
  // ----------------------------------------------------------------------------------------------
  var picked = null; // the search text whose account card is on screen: late live results are dropped

  function results() {
    return Array.prototype.slice.call(document.querySelectorAll("#result-list a.result"));
  }

  function highlight(delta) {
    var items = results();
    if (!items.length) return;
    var i = items.findIndex(function (a) { return a.classList.contains("active"); });
    i = i < 0 ? (delta > 0 ? 0 : items.length - 1) : (i + delta + items.length) % items.length;
    items.forEach(function (a, j) {
      a.classList.toggle("active", j === i);
      a.setAttribute("aria-selected", j === i ? "true" : "false");
    });
    items[i].scrollIntoView({ block: "nearest" });
  }

  function backToSearch() {
    var box = document.getElementById("counter-search");
    if (!box) return;
    var review = document.getElementById("review-back");
    if (review) { review.click(); return; }
    box.focus();
    box.select();
  }

  function toggleMode() {
    var money = document.getElementById("mode-money");
    var energy = document.getElementById("mode-energy");
    if (!money || !energy) return;
    (money.checked ? energy : money).checked = true;
    var value = document.getElementById("sell-value");
    if (value) {
      value.focus();
      if (window.htmx) window.htmx.trigger(value, "quote");
    }
  }

  function counterKeys() {
    var box = document.getElementById("counter-search");
    if (!box) return;
    box.addEventListener("keydown", function (e) {
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        highlight(e.key === "ArrowDown" ? 1 : -1);
      } else if (e.key === "Enter") {
        var active = document.querySelector("#result-list a.result.active");
        if (active) {
          e.preventDefault();
          active.click();
        }
      }
    });
    document.addEventListener("keydown", function (e) {
      if (e.key === "F2") {
        e.preventDefault();
        toggleMode();
      } else if (e.key === "Escape") {
        e.preventDefault();
        backToSearch();
      }
    });
    document.body.addEventListener("htmx:beforeSwap", function (e) {
      var target = e.detail.target;
      if (target && target.id === "search-results" && picked !== null && picked === box.value &&
          document.getElementById("account-card")) {
        e.detail.shouldSwap = false; // a live search answered after Enter already opened the card
      }
    });
    document.body.addEventListener("htmx:afterSwap", function (e) {
      if (e.detail.target && e.detail.target.id === "counter-work") {
        picked = document.getElementById("account-card") ? box.value : null;
        var results = document.getElementById("search-results");
        if (picked !== null && results) results.innerHTML = "";
      }
    });
  }

  // ----------------------------------------------------------------------------------------------
  // Search-as-you-type pickers of the clerk forms: a click on a match fills the box (and the reading
  // box it names with the meter's last reading, if that box is still empty).
  // ----------------------------------------------------------------------------------------------
  function pickers() {
    document.addEventListener("click", function (e) {
      var pick = e.target.closest ? e.target.closest("button.pick[data-pick-box]") : null;
      if (!pick) return;
      var box = document.getElementById(pick.dataset.pickBox);
      if (!box) return;
      box.value = pick.dataset.pickValue;
      if (pick.dataset.pickFill) {
        var fill = JSON.parse(pick.dataset.pickFill);
        Object.keys(fill).forEach(function (id) {
          var other = document.getElementById(id);
          if (other && (!other.value || other.dataset.filled === "1")) {
            other.value = fill[id];
            other.dataset.filled = "1";
          }
        });
      }
      var list = document.getElementById(pick.dataset.pickBox + "-picks");
      if (list) list.innerHTML = "";
      box.focus();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    consumptionChart();
    counterKeys();
    pickers();
  });
})();
