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

  document.addEventListener("DOMContentLoaded", function () {
    consumptionChart();
  });
})();
