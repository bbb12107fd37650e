// The overview's kommune filter: a search box and a region menu (the regions in
// data-regions, in Danish order) above the kommune table, hiding the rows that do not match and saying how many are shown. Optional:
// without it the table shows all 98 kommuner. "aa" is read as "å", so "Aabenraa" and
// "Åbenrå" find the same kommune.
(function () {
  var place = document.getElementById("kommunefilter");
  var table = place && place.parentNode.querySelector("table.sortable");
  if (!table) { return; }
  var fold = function (s) { return s.toLowerCase().replace(/aa/g, "å"); };
  var rows = Array.from(table.tBodies[0].rows);
  var regions = (place.dataset.regions || "").split("|").filter(Boolean);
  place.className = "filters";
  place.setAttribute("role", "search");
  place.innerHTML = '<label>Søg efter kommune <input type="search" id="kommunesoeg" autocomplete="off"></label> ' +
    '<label>Region <select id="kommuneregion"><option value="">Alle regioner</option></select></label> ' +
    '<span class="count" role="status" aria-live="polite"></span>';
  var search = place.querySelector("input"), menu = place.querySelector("select"), count = place.querySelector(".count");
  regions.forEach(function (r) { var o = document.createElement("option"); o.value = r; o.textContent = r; menu.appendChild(o); });
  var apply = function () {
    var q = fold(search.value.trim()), region = menu.value, shown = 0;
    rows.forEach(function (tr) {
      var ok = fold(tr.dataset.name || "").indexOf(q) >= 0 && (!region || tr.dataset.region === region);
      tr.hidden = !ok;
      if (ok) { shown += 1; }
    });
    count.textContent = shown === 1 ? "1 kommune vist" : shown + " kommuner vist";
  };
  search.addEventListener("input", apply);
  menu.addEventListener("change", apply);
  apply();
})();
