/* fmbench report: sorting and filtering the item table, A/B listening.
   Vendored with the report (no network, works from file://). */
(function () {
  "use strict";

  function num(cell) {
    var v = cell ? cell.getAttribute("data-v") : null;
    if (v === null || v === "") return NaN;
    return parseFloat(v);
  }
  function text(cell) {
    if (!cell) return "";
    var v = cell.getAttribute("data-v");
    return (v !== null ? v : cell.textContent).trim().toLowerCase();
  }

  /* ---- sortable tables ------------------------------------------------------------ */
  // order "best" sorts a metric best first (by its direction), "worst" the reverse;
  // text columns sort A→Z for "best" and Z→A for "worst". NaN always goes last.
  function sortTable(table, colIndex, order) {
    var th = table.tHead.rows[0].cells[colIndex];
    var kind = th.getAttribute("data-sort") || "text";
    var dir = th.getAttribute("data-dir") || "higher";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var sign = order === "best" ? 1 : -1;
    rows.sort(function (a, b) {
      var ca = a.cells[colIndex], cb = b.cells[colIndex];
      if (kind === "num") {
        var x = num(ca), y = num(cb);
        var nx = isNaN(x), ny = isNaN(y);
        if (nx || ny) return nx === ny ? 0 : (nx ? 1 : -1);
        var d = dir === "lower" ? x - y : y - x; // best first
        return sign * d;
      }
      var s = text(ca), t = text(cb);
      return sign * (s < t ? -1 : s > t ? 1 : 0);
    });
    rows.forEach(function (r) { body.appendChild(r); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (c) {
      c.removeAttribute("aria-sort");
      c.classList.remove("sorted-best", "sorted-worst");
    });
    th.setAttribute("aria-sort", order === "best" ? "descending" : "ascending");
    th.classList.add(order === "best" ? "sorted-best" : "sorted-worst");
    th.setAttribute("data-order", order);
  }

  function initSortable(table) {
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, i) {
      th.classList.add("clickable");
      th.setAttribute("tabindex", "0");
      th.title = th.title || "click: best first; again: worst first";
      function go() {
        var next = th.getAttribute("data-order") === "best" ? "worst" : "best";
        sortTable(table, i, next);
      }
      th.addEventListener("click", go);
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); go(); }
      });
    });
  }

  /* ---- item filters ------------------------------------------------------------- */
  function initItemControls(table) {
    var q = document.getElementById("q");
    var show = document.getElementById("show");
    var metric = document.getElementById("metric");
    var vmin = document.getElementById("vmin");
    var vmax = document.getElementById("vmax");
    var count = document.getElementById("count");
    var heads = table.tHead.rows[0].cells;

    function colIndex(key) {
      for (var i = 0; i < heads.length; i++) {
        if (heads[i].getAttribute("data-col") === key) return i;
      }
      return -1;
    }
    function apply() {
      var needle = (q.value || "").trim().toLowerCase();
      var mode = show.value;
      var ci = metric ? colIndex(metric.value) : -1;
      var lo = vmin.value === "" ? -Infinity : parseFloat(vmin.value);
      var hi = vmax.value === "" ? Infinity : parseFloat(vmax.value);
      var shown = 0, rows = table.tBodies[0].rows;
      for (var i = 0; i < rows.length; i++) {
        var r = rows[i], ok = true;
        if (needle) {
          var hay = (r.cells[0].textContent + " " + r.cells[1].textContent).toLowerCase();
          ok = hay.indexOf(needle) >= 0;
        }
        var failed = r.getAttribute("data-failed") === "1";
        if (ok && mode === "failed") ok = failed;
        if (ok && mode === "ok") ok = !failed;
        if (ok && ci >= 0 && (vmin.value !== "" || vmax.value !== "")) {
          var v = num(r.cells[ci]);
          ok = !isNaN(v) && v >= lo && v <= hi;
        }
        r.hidden = !ok;
        if (ok) shown++;
      }
      count.textContent = shown + " of " + rows.length + " items shown";
    }
    [q, show, metric, vmin, vmax].forEach(function (el) {
      if (el) { el.addEventListener("input", apply); el.addEventListener("change", apply); }
    });
    function sortBy(order) {
      var ci = colIndex(metric.value);
      if (ci >= 0) sortTable(table, ci, order);
    }
    var best = document.getElementById("best-first");
    var worst = document.getElementById("worst-first");
    if (best) best.addEventListener("click", function () { sortBy("best"); });
    if (worst) worst.addEventListener("click", function () { sortBy("worst"); });
    apply();
  }

  /* ---- A/B listening ------------------------------------------------------------ */
  function initAB() {
    var player = document.getElementById("ab-player");
    if (!player) return;
    var buttons = Array.prototype.slice.call(document.querySelectorAll(".ab-btn"));
    function select(btn) {
      var src = btn.getAttribute("data-src");
      if (player.getAttribute("src") !== src) {
        var t = player.currentTime || 0;
        var playing = !player.paused && !player.ended;
        player.setAttribute("src", src);
        player.load();
        player.addEventListener("loadedmetadata", function once() {
          player.removeEventListener("loadedmetadata", once);
          try { player.currentTime = Math.min(t, player.duration || t); } catch (e) { /* not seekable yet */ }
          if (playing) {
            var p = player.play();
            if (p && p.catch) p.catch(function () { /* autoplay refused: stay paused */ });
          }
        });
      }
      buttons.forEach(function (b) {
        var on = b === btn;
        b.classList.toggle("on", on);
        b.setAttribute("aria-pressed", on ? "true" : "false");
      });
      player.setAttribute("data-key", btn.getAttribute("data-key"));
    }
    buttons.forEach(function (b) {
      b.addEventListener("click", function () { select(b); });
    });
    document.addEventListener("keydown", function (e) {
      var tag = (e.target && e.target.tagName) || "";
      if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA") return;
      var k = parseInt(e.key, 10);
      if (k >= 1 && k <= buttons.length) select(buttons[k - 1]);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), initSortable);
    var items = document.getElementById("items");
    if (items && document.getElementById("item-controls")) initItemControls(items);
    initAB();
  });
})();
