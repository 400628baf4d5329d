/* Prepay dashboard: draws the ECharts panels from data.json and keeps the live vend monitor fresh
 * by polling live.json every few seconds (no reload, no websocket, works on a LAN without a CDN).
 * All labels come from the page (translated server-side); this file holds no user-facing text. */
(function () {
  "use strict";

  var root = document.getElementById("dashboard");
  if (!root) return;
  var cfg = root.dataset;
  var pollMs = Math.max(parseInt(cfg.pollSeconds || "5", 10), 2) * 1000;
  var charts = {};
  var latest = 0;

  function chart(id) {
    var el = document.getElementById(id);
    if (!el || typeof echarts === "undefined") return null;
    if (!charts[id]) charts[id] = echarts.init(el, null, { locale: cfg.locale || "EN", renderer: "canvas" });
    return charts[id];
  }

  function num(s) {
    return s === null || s === undefined ? null : Number(s);
  }

  function empty(c) {
    c.setOption({ title: { text: cfg.labelNoData, left: "center", top: "middle", textStyle: { fontSize: 13, color: "#888" } } }, true);
  }

  function drawToday(today) {
    var c = chart("chart-today");
    if (!c) return;
    if (!today.points.length) return empty(c);
    c.setOption({
      tooltip: { trigger: "axis" },
      legend: { bottom: 0, type: "scroll" },
      grid: { left: 50, right: 10, top: 20, bottom: 50 },
      xAxis: { type: "category", data: today.points },
      yAxis: { type: "value" },
      series: today.series.map(function (s) {
        return { name: s.name, type: "bar", stack: "money", data: s.data.map(num) };
      })
    }, true);
  }

  function drawRecovery(rec) {
    var c = chart("chart-recovery");
    if (!c) return;
    if (!rec.sites.length) return empty(c);
    c.setOption({
      tooltip: { trigger: "axis" },
      legend: { bottom: 0, type: "scroll" },
      grid: { left: 50, right: 50, top: 20, bottom: 50 },
      xAxis: { type: "category", data: rec.sites },
      yAxis: [{ type: "value" }, { type: "value", min: 0, axisLabel: { formatter: "{value} %" } }],
      series: [
        { name: cfg.labelCollected, type: "bar", data: rec.collected.map(num) },
        { name: cfg.labelDue, type: "bar", data: rec.due.map(num) },
        {
          name: cfg.labelRate, type: "line", yAxisIndex: 1,
          data: rec.rates.map(function (r) { return r === null ? null : Math.round(Number(r) * 10000) / 100; })
        }
      ]
    }, true);
  }

  function drawEnergy(en) {
    var c = chart("chart-energy");
    if (!c) return;
    if (!en.sites.length) return empty(c);
    c.setOption({
      tooltip: { trigger: "axis" },
      legend: { bottom: 0, type: "scroll" },
      grid: { left: 60, right: 10, top: 20, bottom: 50 },
      xAxis: { type: "category", data: en.sites },
      yAxis: { type: "value" },
      series: en.series.map(function (s) {
        return { name: s.name, type: "bar", stack: "energy", data: s.data.map(num) };
      })
    }, true);
  }

  function setText(id, text) {
    var el = document.getElementById(id);
    if (el) el.textContent = text;
  }

  function money(s) {
    var n = Number(s);
    return isNaN(n) ? s : n.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }

  function loadData() {
    return fetch(cfg.dataUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (d) {
        drawToday(d.today);
        drawRecovery(d.recovery);
        drawEnergy(d.energy);
        setText("today-total", money(d.today.total));
        setText("today-count", String(d.today.count));
        setText("recovery-overall", d.recovery.overall === null ? "—" : (Number(d.recovery.overall) * 100).toFixed(2) + " %");
        setText("count-offline", String(d.health.offline));
        setText("count-cut-off", String(d.health.cut_off));
        setText("count-low-credit", String(d.health.low_credit));
      });
  }

  function row(v) {
    var tr = document.createElement("tr");
    tr.dataset.vend = v.id;
    [v.time, v.site, v.point, v.account, v.method, money(v.amount), v.energy, v.status].forEach(function (text, i) {
      var td = document.createElement("td");
      td.textContent = text;
      if (i === 5 || i === 6) td.className = "num";
      tr.appendChild(td);
    });
    return tr;
  }

  function poll() {
    var url = cfg.liveUrl + "?after=" + latest;
    return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (d) {
        var body = document.querySelector("#live-vends tbody");
        var fresh = d.vends.slice().reverse();  // oldest first, each inserted on top
        fresh.forEach(function (v) {
          var tr = row(v);
          if (latest) tr.className = "fresh";
          body.insertBefore(tr, body.firstChild);
        });
        while (body.rows.length > 50) body.deleteRow(body.rows.length - 1);
        if (d.vends.length && latest) loadData();  // new sales: refresh the charts too
        latest = d.latest;
        setText("today-total", money(d.today.total));
        setText("today-count", String(d.today.count));
        setText("live-status", new Date().toLocaleTimeString());
        root.dataset.latest = String(latest);
      })
      .catch(function () { /* a missed poll is retried on the next tick */ });
  }

  window.addEventListener("resize", function () {
    Object.keys(charts).forEach(function (k) { charts[k].resize(); });
  });

  loadData().finally(function () {
    poll();
    setInterval(poll, pollMs);
  });
})();
