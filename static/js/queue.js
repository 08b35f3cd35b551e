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

  // The refresh never moves rows under the nurse's pointer or focus: a row that was
  // resolved elsewhere would otherwise put the next patient's Acknowledge button where the
  // click lands. While the pointer is over the queue or focus is inside it, the poll's
  // reply is not swapped into the rows; only the open counts in the header are updated
  // from it (so a new red alert still shows there). The first tick after the pointer and
  // focus leave brings the new rows. No trigger filter expression: the CSP forbids eval,
  // so this listens to htmx's events instead.
  var pointerInQueue = false;

  function inQueue(node) {
    return Boolean(node && node.closest && node.closest("#queue"));
  }

  function nurseIsOnTheQueue() {
    return pointerInQueue || inQueue(document.activeElement);
  }

  function isQueuePoll(event) {
    return event.detail && event.detail.elt && event.detail.elt.id === "queue";
  }

  document.addEventListener("pointerover", function (event) {
    pointerInQueue = inQueue(event.target);
  });
  document.addEventListener("pointerout", function (event) {
    if (!event.relatedTarget) { pointerInQueue = false; }  // left the window
  });
  function updateCountsOnly(responseText) {
    var current = document.getElementById("alert-counts");
    if (!current || !responseText) { return; }
    var parsed = new DOMParser().parseFromString(responseText, "text/html");
    var fresh = parsed.getElementById("alert-counts");
    if (!fresh) { return; }
    fresh.removeAttribute("hx-swap-oob");
    current.replaceWith(document.importNode(fresh, true));
  }

  document.body.addEventListener("htmx:beforeSwap", function (event) {
    if (isQueuePoll(event) && nurseIsOnTheQueue()) {
      event.detail.shouldSwap = false;
      updateCountsOnly(event.detail.serverResponse);
    }
  });

  document.addEventListener("DOMContentLoaded", remember);
  document.body.addEventListener("htmx:afterSwap", markNew);
  // Back on the tab: the title returns to normal; highlighted rows stay until reload.
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) { document.title = baseTitle; }
  });
})();
