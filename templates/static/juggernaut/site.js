// Behaviour shared by every page. Pages add their own file; nothing here is page-specific.
(function () {
  "use strict";

  // A form with data-confirm asks before it submits (reject, cancel: things not undone).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      return;
    }
    // A form a script sends itself (it prevented the navigation) manages its own buttons:
    // disabling them here would leave them dead, since no page load follows to enable them.
    if (event.defaultPrevented) return;
    // One click, one POST: a double click would approve and then report a refused transition.
    var buttons = form.querySelectorAll("button[type=submit]");
    window.setTimeout(function () {
      buttons.forEach(function (button) { button.disabled = true; });
    }, 0);
  });

  // Coming back through the history cache must not leave buttons dead.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form button[type=submit]:disabled").forEach(function (button) {
      button.disabled = false;
    });
  });

  // A select with data-autosubmit submits its form when changed.
  document.addEventListener("change", function (event) {
    var field = event.target;
    if (field instanceof HTMLSelectElement && field.hasAttribute("data-autosubmit") && field.form) {
      field.form.requestSubmit();
    }
  });
})();
