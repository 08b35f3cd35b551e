// The check-in form must start from what the server sent. Going Back to it after a send
// (issue 10, newcomer trial) let the browser restore half of the previous answers (radio
// buttons, not the temperature) under a new submission key, and Send then saved a second,
// partial check-in. The form has autocomplete="off" (no restoring in Chromium); besides:
// a page reached by Back/Forward is reset to the values in its markup (the server's), and
// one shown again from the back-forward cache is fetched again (its key was already used).
// Nothing here runs on an ordinary load, so an answer tapped early is never cleared.
(function () {
  "use strict";
  var navigation = (performance.getEntriesByType && performance.getEntriesByType("navigation")[0]) || {};
  if (navigation.type === "back_forward") {
    document.querySelectorAll("form.check-in-form").forEach(function (form) {
      form.reset();
    });
  }
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) {
      window.location.reload();
    }
  });
  // An error summary takes the focus, so that it is read and seen first.
  var summary = document.getElementById("check-in-errors");
  if (summary) {
    summary.focus();
  }
})();
