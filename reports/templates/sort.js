// Sortable tables (header buttons: click, Enter or Space), row filters, and a scroll cue on
// tables wider than the page; no dependencies, works offline.
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  function cellKey(row, index, numeric) {
    var cell = row.cells[index];
    var raw = cell.hasAttribute("data-sort") ? cell.getAttribute("data-sort") : cell.textContent;
    if (!numeric) { return raw.toLowerCase(); }
    var n = parseFloat(raw);
    return isNaN(n) ? Infinity : n;
  }
  function sortBy(table, header) {
    var index = header.cellIndex;
    var numeric = header.classList.contains("num");
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellKey(a, index, numeric), y = cellKey(b, index, numeric);
      var order = x < y ? -1 : x > y ? 1 : 0;
      return ascending ? order : -order;
    });
    Array.prototype.forEach.call(leafHeaders(table), function (th) {
      th.removeAttribute("aria-sort");
    });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    rows.forEach(function (row) { body.appendChild(row); });
  }
  // The last header row has one cell per column (a row above it may group columns).
  function leafHeaders(table) {
    return table.tHead.rows[table.tHead.rows.length - 1].cells;
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    Array.prototype.forEach.call(leafHeaders(table), function (th) {
      var button = th.querySelector("button");
      if (button) { button.addEventListener("click", function () { sortBy(table, th); }); }
    });
  });
  document.querySelectorAll("input.filter").forEach(function (input) {
    var table = document.getElementById(input.getAttribute("data-table"));
    input.addEventListener("input", function () {
      var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
        var text = row.textContent.toLowerCase();
        row.hidden = !words.every(function (w) { return text.indexOf(w) >= 0; });
      });
    });
  });
  // A table that fits needs no scroll box (and its header then sticks to the window);
  // one wider than the page scrolls sideways inside its box, which says so.
  function fit() {
    document.querySelectorAll(".tablewrap").forEach(function (wrap) {
      var table = wrap.querySelector("table");
      wrap.classList.toggle("scrolls", table.offsetWidth > wrap.clientWidth + 1);
    });
  }
  fit();
  window.addEventListener("resize", fit);
})();
