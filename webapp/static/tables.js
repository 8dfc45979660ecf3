/* acsq-mongo web app: sortable tables, the header filter box, copy buttons, and small
   quicklooks drawn nearest-neighbour. No library, no network. */
(function () {
  "use strict";

  // Tables with class "sortable": click a heading to sort its rows (numbers as numbers).
  function cellValue(row, index) {
    var cell = row.cells[index];
    return cell ? cell.textContent.trim() : "";
  }

  function compare(a, b) {
    var x = parseFloat(a.replace(/,/g, "")), y = parseFloat(b.replace(/,/g, ""));
    var numeric = /^[-+]?[\d,.]+(e[-+]?\d+)?$/i;
    if (numeric.test(a) && numeric.test(b) && !isNaN(x) && !isNaN(y)) {
      return x - y;
    }
    return a.localeCompare(b);
  }

  function makeSortable(table) {
    var headings = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(headings, function (th, index) {
      th.classList.add("clickable");
      th.setAttribute("tabindex", "0");
      th.setAttribute("aria-sort", "none");
      function sort() {
        var ascending = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(headings, function (h) { h.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (r1, r2) {
          var result = compare(cellValue(r1, index), cellValue(r2, index));
          return ascending ? result : -result;
        });
        rows.forEach(function (row) { body.appendChild(row); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sort(); }
      });
    });
  }

  // <input data-filter="#container">: show only the rows of the container's tables whose
  // text contains what is typed (any case); hide sections with no row left.
  function makeFilter(input) {
    var container = document.querySelector(input.getAttribute("data-filter"));
    if (!container) { return; }
    var counter = input.parentNode.querySelector(".filter-count");
    var rows = Array.prototype.slice.call(container.querySelectorAll("tbody tr"));
    var texts = rows.map(function (row) { return row.textContent.toLowerCase(); });
    var sections = Array.prototype.slice.call(container.querySelectorAll("section"));
    var timer = null;
    function apply() {
      var needle = input.value.trim().toLowerCase();
      var shown = 0;
      rows.forEach(function (row, i) {
        var match = !needle || texts[i].indexOf(needle) !== -1;
        row.hidden = !match;
        if (match) { shown += 1; }
      });
      sections.forEach(function (section) {
        section.hidden = needle !== "" && !section.querySelector("tbody tr:not([hidden])");
      });
      if (counter) {
        counter.textContent = needle ? shown + " of " + rows.length + " keywords" : "";
      }
    }
    // data-filter-param="q": the text also lives in the URL (?q=CCD), so a filtered
    // view can be bookmarked and shared; replaceState keeps the history clean.
    var param = input.getAttribute("data-filter-param");
    function remember() {
      if (!param || !window.history.replaceState) { return; }
      var url = new URL(window.location.href);
      if (input.value.trim()) { url.searchParams.set(param, input.value.trim()); }
      else { url.searchParams.delete(param); }
      window.history.replaceState(null, "", url.pathname + url.search + url.hash);
    }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { apply(); remember(); }, 80);
    });
    if (input.value) { apply(); }
  }

  // <button data-copy="text">: copy the text (a file path) to the clipboard in one click.
  function makeCopy(button) {
    button.addEventListener("click", function () {
      var text = button.getAttribute("data-copy");
      function done() { button.textContent = "copied"; }
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(done, function () {});
      } else {
        var area = document.createElement("textarea");
        area.value = text;
        document.body.appendChild(area);
        area.select();
        try { document.execCommand("copy"); done(); } catch { /* the path stays selectable */ }
        document.body.removeChild(area);
      }
    });
  }

  // A quicklook smaller than its box (a small product, a subarray) is drawn larger
  // pixel by pixel, never smoothed: class "pixelated" while it is shown upscaled.
  function watchScale(img) {
    function check() {
      if (!img.naturalWidth) { return; }
      img.classList.toggle("pixelated", img.naturalWidth < img.clientWidth);
    }
    if (img.complete) { check(); } else { img.addEventListener("load", check); }
    window.addEventListener("resize", check);
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll(".preview img"), watchScale);
    Array.prototype.forEach.call(document.querySelectorAll("button[data-copy]"), makeCopy);
    Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), makeSortable);
    Array.prototype.forEach.call(document.querySelectorAll("input[data-filter]"), makeFilter);
  });
})();
