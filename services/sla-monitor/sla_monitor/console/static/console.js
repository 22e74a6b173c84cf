/* leadrouter ops console: live countdowns (from each row's due time) and small helpers. No inline script. */
(function () {
  "use strict";
  var skew = 0; // server clock minus this browser's clock, from <body data-server-now>

  function readSkew() {
    var serverNow = Date.parse(document.body.getAttribute("data-server-now") || "");
    if (!isNaN(serverNow)) skew = serverNow - Date.now();
  }

  function format(ms) {
    var total = Math.floor(Math.abs(ms) / 1000);
    var h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
    var mm = (h > 0 && m < 10 ? "0" : "") + m, ss = (s < 10 ? "0" : "") + s;
    return (h > 0 ? h + ":" : "") + mm + ":" + ss;
  }

  function tick() {
    var now = Date.now() + skew;
    var cells = document.querySelectorAll("[data-due-at]");
    for (var i = 0; i < cells.length; i++) {
      var cell = cells[i];
      var due = Date.parse(cell.getAttribute("data-due-at"));
      if (isNaN(due)) continue;
      var left = due - now;
      var row = cell.closest("tr");
      var warnAt = row && Date.parse(row.getAttribute("data-warn-at") || "");
      if (row && !isNaN(warnAt) && now >= warnAt && !row.classList.contains("breached")) row.classList.add("warning");
      if (left >= 0 && !(row && row.classList.contains("breached"))) {
        cell.textContent = format(left);
      } else {
        cell.textContent = "overdue " + format(left);
        if (row) row.classList.add("overdue");
      }
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    readSkew();
    tick();
    window.setInterval(tick, 250);
  });
  function liveStatus(text, state) {
    var status = document.getElementById("live-status");
    if (!status) return;
    status.textContent = text;
    status.classList.remove("live", "down");
    status.classList.add(state);
  }
  document.addEventListener("htmx:sseOpen", function () { liveStatus("Live: changes show up as they happen", "live"); });
  document.addEventListener("htmx:sseError", function () { liveStatus("Live updates interrupted; reconnecting…", "down"); });

  // Rows swapped in by htmx get their countdown at once, not on the next tick.
  document.addEventListener("htmx:afterSettle", tick);
})();
