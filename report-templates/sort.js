// Sorts a table by the clicked column: numbers by data-value, else by text. Optional:
// the table reads the same without it.
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th[data-sort]").forEach(function (th, col) {
    th.addEventListener("click", function () {
      var body = table.tBodies[0], up = th.dataset.dir !== "asc";
      var key = function (tr) { var c = tr.children[col]; var v = c.dataset.value; return v === undefined || v === "" ? (up ? Infinity : -Infinity) : (isNaN(v) ? v : Number(v)); };
      Array.from(body.rows).sort(function (a, b) { var x = key(a), y = key(b); return (x < y ? -1 : x > y ? 1 : 0) * (up ? 1 : -1); }).forEach(function (tr) { body.appendChild(tr); });
      th.dataset.dir = up ? "asc" : "desc";
    });
  });
});
