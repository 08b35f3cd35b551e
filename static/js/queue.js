// The triage queue refreshes itself (htmx polls /alerts/?partial=1). A red alert that was
// not there before is made unmistakable: the row pulses, the tab title changes, and a
// screen reader hears it. No inline script (CSP): this file is loaded by the page.
(function () {
  "use strict";
  var seen = null;
  var baseTitle = document.title;

  function redRows() {
    return Array.prototype.slice.call(document.querySelectorAll('#queue [data-severity="red"]'));
  }

  function remember() {
    seen = {};
    redRows().forEach(function (row) { seen[row.dataset.alertId] = true; });
  }

  function markNew() {
    var fresh = redRows().filter(function (row) { return !seen[row.dataset.alertId]; });
    fresh.forEach(function (row) { row.classList.add("new-red"); });
    if (fresh.length) {
      document.title = "(" + fresh.length + " new red) " + baseTitle;
      var announcer = document.getElementById("queue-announcer");
      if (announcer) {
        announcer.textContent = "New red alert: " +
          fresh.map(function (row) { return row.dataset.patient; }).join(", ");
      }
    }
    fresh.forEach(function (row) { seen[row.dataset.alertId] = true; });
  }

  document.addEventListener("DOMContentLoaded", remember);
  document.body.addEventListener("htmx:afterSwap", markNew);
  // Back on the tab: the title returns to normal; highlighted rows stay until reload.
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) { document.title = baseTitle; }
  });
})();
