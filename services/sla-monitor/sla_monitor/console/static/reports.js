/* Reports page: draws a uPlot chart above each data table marked data-chart. The table stays the source of the
   numbers (and the accessible alternative): row headers carry the bucket start in data-t (unix seconds), cells
   carry data-value (empty when there is nothing to show). No inline script: the page's CSP forbids it. */
(function () {
  "use strict";

  // Okabe-Ito colours: told apart with the common colour-vision deficiencies, readable on white.
  var COLOURS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#8a6d00", "#56B4E9", "#1b1f24", "#7f3c8d"];
  var DASHES = [[], [6, 3], [2, 3], [8, 3, 2, 3]];

  function trimmed(value, digits) {
    return String(Number(value.toFixed(digits)));  // 2 not 2.0, 1.5 stays 1.5
  }

  function duration(seconds) {
    if (seconds == null) return "–";
    if (seconds < 90) return trimmed(seconds, 0) + " s";
    if (seconds < 3600) return trimmed(seconds / 60, seconds < 600 ? 1 : 0) + " min";
    if (seconds < 172800) return trimmed(seconds / 3600, 1) + " h";
    return trimmed(seconds / 86400, 1) + " d";
  }

  // Axis steps for durations: whole seconds, minutes, hours and days, so ticks read 30 min, 1 h, 2 h.
  var DURATION_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200,
                        86400, 172800, 432000, 604800];

  var FORMATS = {
    seconds: duration,
    percent: function (v) { return v == null ? "–" : v.toFixed(0) + " %"; },
    number: function (v) { return v == null ? "–" : String(Math.round(v * 100) / 100); }
  };

  function readTable(table) {
    var groups = Array.prototype.map.call(table.querySelectorAll("thead th[data-group]"), function (th) {
      return th.getAttribute("data-group");
    });
    var xs = [];
    var ys = groups.map(function () { return []; });
    table.querySelectorAll("tbody tr").forEach(function (row) {
      xs.push(Number(row.querySelector("th").getAttribute("data-t")));
      row.querySelectorAll("td").forEach(function (cell, i) {
        var raw = cell.getAttribute("data-value");
        ys[i].push(raw === null || raw === "" ? null : Number(raw));
      });
    });
    return { groups: groups, data: [xs].concat(ys) };
  }

  function draw(table) {
    var figure = table.closest("figure") || table.parentNode;
    var before = table.closest("details") || table;
    var host = document.createElement("div");
    host.className = "chart";
    host.setAttribute("aria-hidden", "true"); // the table below says the same to assistive technology
    before.parentNode.insertBefore(host, before);
    var parsed = readTable(table);
    var unit = table.getAttribute("data-unit");
    var format = FORMATS[unit] || FORMATS.number;
    var series = [{ label: "Start (UTC)" }].concat(parsed.groups.map(function (group, i) {
      return {
        label: group,
        stroke: COLOURS[i % COLOURS.length],
        dash: DASHES[Math.floor(i / COLOURS.length) % DASHES.length],
        width: 2,
        points: { show: true, size: 5 },
        spanGaps: false,
        value: function (u, v) { return format(v); }
      };
    }));
    var yAxis = { stroke: "#1b1f24", grid: { stroke: "#e3e7ec" }, size: 64,
                  values: function (u, vals) { return vals.map(format); } };
    if (unit === "seconds") yAxis.incrs = DURATION_STEPS;
    var options = {
      width: Math.max(320, host.clientWidth || figure.clientWidth || 600),
      height: 240,
      series: series,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"); },
      scales: { x: { time: true }, y: { range: function (u, min, max) { return [0, max > 0 ? max * 1.1 : 1]; } } },
      axes: [
        { stroke: "#1b1f24", grid: { stroke: "#e3e7ec" } },
        yAxis
      ],
      legend: { live: true }
    };
    var chart = new uPlot(options, parsed.data, host);
    host.setAttribute("data-drawn", String(parsed.data[0].length));
    var resize = function () {
      chart.setSize({ width: Math.max(320, host.clientWidth || figure.clientWidth), height: 240 });
    };
    window.addEventListener("resize", resize);
  }

  function drawAll() {
    if (typeof uPlot === "undefined") return;
    document.querySelectorAll("table[data-chart]").forEach(draw);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", drawAll);
  } else {
    drawAll();
  }
})();
