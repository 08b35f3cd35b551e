// The neurological self-check one question per screen (clinical-rules.md, "The
// neurological self-check"; issue 13). Without JavaScript every question is shown in one
// list and the form works the same: this file only hides the questions not on screen and
// adds Back / Next (and, in the daily check-in, "Skip this check"). Nothing is scored
// here: the server adds up the answers with triage.neuro.
(function () {
  "use strict";
  var check = document.getElementById("neuro-check");
  if (!check) {
    return;
  }
  var steps = Array.prototype.slice.call(check.querySelectorAll(".neuro-step"));
  var nav = check.querySelector(".neuro-nav");
  var back = check.querySelector('[data-neuro="back"]');
  var next = check.querySelector('[data-neuro="next"]');
  var skip = check.querySelector('[data-neuro="skip"]');
  var done = check.querySelector(".neuro-done");
  if (!steps.length || !nav) {
    return;
  }
  var current = 0;

  function answered(step) {
    var chosen = step.querySelector("input[type=radio]:checked");
    return chosen !== null && chosen.value !== "";
  }

  function show(index, focus) {
    current = Math.max(0, Math.min(index, steps.length - 1));
    steps.forEach(function (step, n) {
      step.hidden = n !== current;
    });
    done.hidden = true;
    nav.hidden = false;
    back.disabled = current === 0;
    next.textContent = current === steps.length - 1 ? "Finish the check" : "Next";
    if (focus) {
      // The question's own words, so a screen reader reads the new question.
      var legend = steps[current].querySelector("legend");
      if (legend) {
        legend.setAttribute("tabindex", "-1");
        legend.focus();
      }
    }
  }

  function finish() {
    var open = steps.filter(function (step) { return !answered(step); }).length;
    steps.forEach(function (step) { step.hidden = true; });
    nav.hidden = true;
    done.hidden = false;
    done.textContent = open === 0
      ? "Check finished. Your answers are sent with the rest of the page."
      : open + " question" + (open === 1 ? " is" : "s are") +
        " not answered: press Back to answer. If you send now, the answers given are " +
        "sent with the rest of the page and the check is marked not finished.";
    var again = document.createElement("button");
    again.type = "button";
    again.className = "btn btn-outline-primary btn-lg w-100 mt-2";
    again.textContent = "Change the answers";
    again.addEventListener("click", function () { show(0, true); });
    done.appendChild(again);
  }

  back.addEventListener("click", function () { show(current - 1, true); });
  next.addEventListener("click", function () {
    if (current === steps.length - 1) {
      finish();
    } else {
      show(current + 1, true);
    }
  });
  if (skip) {
    skip.hidden = false;
    skip.addEventListener("click", function () {
      // Not done: every answer taken back, so the server records no check.
      check.querySelectorAll("input[type=radio]").forEach(function (input) {
        input.checked = input.value === "";
      });
      steps.forEach(function (step) { step.hidden = true; });
      nav.hidden = true;
      done.hidden = false;
      done.textContent = "Check skipped: it will be recorded as not done.";
      var undo = document.createElement("button");
      undo.type = "button";
      undo.className = "btn btn-outline-primary btn-lg w-100 mt-2";
      undo.textContent = "Do the check after all";
      undo.addEventListener("click", function () { show(0, true); });
      done.appendChild(undo);
    });
  }
  // A link of the error summary to a question on another screen shows that screen.
  document.querySelectorAll("#check-in-errors a[href^='#']").forEach(function (link) {
    link.addEventListener("click", function () {
      var target = document.getElementById(link.getAttribute("href").slice(1));
      var step = target && target.closest(".neuro-step");
      if (step) {
        show(steps.indexOf(step), false);
      }
    });
  });
  // Sent back with an error: open on the first question that needs an answer.
  var first = steps.findIndex(function (step) { return step.dataset.hasError === "true"; });
  show(first < 0 ? 0 : first, false);
})();
