/* Suspicious-consumption case page: draws the evidence chart from the case's evidence.json — daily
 * use (bars) against its usual use (line), the median of similar accounts, use while cut off and
 * register falls, with the meter's events and purchases marked on their days. Labels come from the
 * page (translated server-side); this file holds no user-facing text. */
(function () {
  "use strict";

  var el = document.getElementById("chart-evidence");
  if (!el || typeof echarts === "undefined") return;
  var cfg = el.dataset;
  var chart = echarts.init(el, null, { locale: cfg.locale || "EN", renderer: "canvas" });

  function num(s) {
    return s === null || s === undefined ? null : Number(s);
  }

  function draw(d) {
    if (!d.days.length) {
      chart.setOption({ title: { text: cfg.labelNoData, left: "center", top: "middle" } }, true);
      return;
    }
    var marks = {};
    d.marks.forEach(function (m) {
      (marks[m.day] = marks[m.day] || []).push(m.kind === "vend" ? "+" + m.label : m.label);
    });
    var markData = Object.keys(marks).filter(function (day) { return d.days.indexOf(day) >= 0; }).map(function (day) {
      return { xAxis: day, label: { formatter: marks[day].join(", "), fontSize: 10 } };
    });
    var series = [
      {
        name: cfg.labelUsage, type: "bar", data: d.usage.map(num),
        markLine: { symbol: "none", silent: true, lineStyle: { type: "dotted", color: "#888" }, data: markData }
      },
      { name: cfg.labelExpected, type: "line", step: "middle", showSymbol: false, data: d.expected.map(num) },
      { name: cfg.labelBypass, type: "bar", stack: "evidence", data: d.bypass.map(num) },
      { name: cfg.labelBackwards, type: "bar", stack: "evidence", data: d.backwards.map(num) }
    ];
    if (d.peer !== null && d.peer !== undefined) {
      series.push({
        name: cfg.labelPeer, type: "line", showSymbol: false, lineStyle: { type: "dashed" },
        data: d.days.map(function () { return Number(d.peer); })
      });
    }
    chart.setOption({
      tooltip: { trigger: "axis" },
      legend: { bottom: 0, type: "scroll" },
      grid: { left: 50, right: 20, top: 40, bottom: 60 },
      xAxis: { type: "category", data: d.days },
      yAxis: { type: "value", name: "kWh" },
      dataZoom: [{ type: "inside" }],
      series: series
    }, true);
    el.dataset.drawn = "1";
  }

  fetch(cfg.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
    .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
    .then(draw)
    .catch(function () {
      chart.setOption({ title: { text: cfg.labelNoData, left: "center", top: "middle" } }, true);
    });
  window.addEventListener("resize", function () { chart.resize(); });
})();
