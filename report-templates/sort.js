// Sorts a table by a column: each header of a sortable table becomes a button (so the
// keyboard reaches it) and carries aria-sort. Numbers sort by data-value, names by
// their Danish sort key in data-value (æ, ø, å and "Aa" last). Optional: the page is
// complete without it.
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th[data-sort]").forEach(function (th, col) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "sort";
    while (th.firstChild) { button.appendChild(th.firstChild); }
    th.appendChild(button);
    button.addEventListener("click", function () {
      var body = table.tBodies[0], up = th.getAttribute("aria-sort") !== "ascending";
      var key = function (tr) { var c = tr.children[col]; var v = c.dataset.value; return v === undefined || v === "" ? (up ? Infinity : -Infinity) : (isNaN(v) ? v : Number(v)); };
      Array.from(body.rows).sort(function (a, b) { var x = key(a), y = key(b); return (x < y ? -1 : x > y ? 1 : 0) * (up ? 1 : -1); }).forEach(function (tr) { body.appendChild(tr); });
      table.querySelectorAll("th[aria-sort]").forEach(function (o) { o.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", up ? "ascending" : "descending");
    });
  });
});
