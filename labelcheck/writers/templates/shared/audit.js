// The audit table: sort and filter its rows. Shared by labelcheck's HTML report (inlined) and
// the web app (served as a file). Without it, every row shows in the order it was written.
(function () {
  "use strict";
  var table = document.querySelector("table.audit");
  if (!table) { return; }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.querySelectorAll("tr.file"));
  var search = document.getElementById("q");
  var verdict = document.getElementById("verdict");
  var requirement = document.getElementById("requirement");
  var sort = document.getElementById("sort");
  var shown = document.getElementById("shown");
  var counts = document.querySelectorAll("[data-filter]");
  // A requirement column sorts the files that fail it first, the neutral statuses last.
  var STATUS_ORDER = {not_met: 0, not_verifiable: 1, manual_check: 2, draft: 3, met: 4,
                      not_in_force: 5, not_applicable: 6};

  function number(row, key) { return Number(row.getAttribute("data-" + key)); }

  function matches(row) {
    var want = verdict ? verdict.value : "";
    if (want === "tampered" ? row.dataset.tampered !== "1" : want && row.dataset.verdict !== want) {
      return false;
    }
    var unmet = " " + row.dataset.unmet + " ";
    if (requirement && requirement.value && unmet.indexOf(" " + requirement.value + " ") < 0) {
      return false;
    }
    return !search || row.dataset.text.indexOf(search.value.toLowerCase()) >= 0;
  }

  function apply() {
    var count = 0;
    rows.forEach(function (row) {
      var ok = matches(row);
      row.hidden = !ok;
      if (ok) { count += 1; }
    });
    if (shown) { shown.textContent = count; }
    counts.forEach(function (button) {
      button.setAttribute("aria-pressed", String(!!verdict && verdict.value === button.dataset.filter));
    });
  }

  function arrange(compare) {
    rows.sort(function (a, b) { return compare(a, b) || number(a, "position") - number(b, "position"); });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  function byKey(key) {
    if (key === "name") {
      arrange(function (a, b) { return a.dataset.name < b.dataset.name ? -1 : a.dataset.name > b.dataset.name ? 1 : 0; });
    } else {
      arrange(function (a, b) { return number(a, key) - number(b, key); });
    }
  }

  function byColumn(index) {
    function rank(row) {
      var cell = row.querySelectorAll("td.cell")[index];
      var order = cell ? STATUS_ORDER[cell.dataset.status] : undefined;
      return order === undefined ? 9 : order;
    }
    arrange(function (a, b) { return rank(a) - rank(b); });
  }

  if (search) { search.addEventListener("input", apply); }
  if (verdict) { verdict.addEventListener("change", apply); }
  if (requirement) { requirement.addEventListener("change", apply); }
  if (sort) {
    sort.addEventListener("change", function () { byKey(sort.value); });
    if (table.dataset.sort && table.dataset.sort !== sort.value) {
      sort.value = table.dataset.sort;
      byKey(sort.value);
    }
  }
  counts.forEach(function (button) {
    button.addEventListener("click", function () {
      if (!verdict) { return; }
      verdict.value = verdict.value === button.dataset.filter ? "" : button.dataset.filter;
      apply();
    });
  });
  table.querySelectorAll("[data-sort-column]").forEach(function (button) {
    button.addEventListener("click", function () {
      byColumn(Number(button.dataset.sortColumn));
    });
  });
  apply();
}());
