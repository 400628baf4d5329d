/* Energy analysis page: four ECharts from the page's data.json — energy by item over time (stacked
 * bars), shares by item (pie), energy by area with kWh per m² (bars + line) and the time-of-use
 * shares (ring). Labels come from the page; this file holds no user-facing text. */
(function () {
  "use strict";

  var root = document.getElementById("energy-charts");
  if (!root || typeof echarts === "undefined") return;
  var cfg = root.dataset;
  var charts = [];

  function chart(id) {
    var el = document.getElementById(id);
    if (!el) return null;
    var c = echarts.init(el, null, { locale: cfg.locale || "EN", renderer: "canvas" });
    charts.push(c);
    return c;
  }

  function num(s) {
    return s === null || s === undefined ? null : Number(s);
  }

  function empty(c) {
    c.setOption({ title: { text: cfg.labelNoData, left: "center", top: "middle", textStyle: { fontSize: 13, color: "#888" } } }, true);
  }

  function pie(c, data, ring) {
    if (!data.length) return empty(c);
    c.setOption({
      tooltip: { trigger: "item", formatter: "{b}: {c} kWh ({d}%)" },
      legend: { bottom: 0, type: "scroll" },
      series: [{ type: "pie", radius: ring ? ["40%", "70%"] : "65%", data: data.map(function (d) { return { name: d.name, value: num(d.value) }; }) }]
    }, true);
  }

  function draw(d) {
    var s = chart("chart-series");
    if (s) {
      if (!d.series.length) empty(s);
      else s.setOption({
        tooltip: { trigger: "axis" },
        legend: { bottom: 0, type: "scroll" },
        grid: { left: 60, right: 10, top: 40, bottom: 60 },
        xAxis: { type: "category", data: d.buckets },
        yAxis: { type: "value", name: "kWh" },
        series: d.series.map(function (x) { return { name: x.name, type: "bar", stack: "energy", data: x.data.map(num) }; })
      }, true);
    }
    var i = chart("chart-items");
    if (i) pie(i, d.items, false);
    var a = chart("chart-areas");
    if (a) {
      if (!d.areas.names.length) empty(a);
      else a.setOption({
        tooltip: { trigger: "axis" },
        legend: { bottom: 0 },
        grid: { left: 60, right: 60, top: 40, bottom: 60 },
        xAxis: { type: "category", data: d.areas.names, axisLabel: { interval: 0, rotate: d.areas.names.length > 6 ? 30 : 0 } },
        yAxis: [{ type: "value", name: "kWh" }, { type: "value", name: "kWh/m²" }],
        series: [
          { name: cfg.labelEnergy, type: "bar", data: d.areas.energy.map(num) },
          { name: cfg.labelPerM2, type: "line", yAxisIndex: 1, data: d.per_m2.map(num) }
        ]
      }, true);
    }
    var t = chart("chart-tou");
    if (t) pie(t, d.tou, true);
    root.dataset.drawn = "1";
  }

  fetch(cfg.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
    .then(draw)
    .catch(function () { charts.forEach(empty); });
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
})();
