// The incidents pages follow the operator stream: an `incident` notice (chat/events.py)
// about the incident shown (or, on the list, about any) reloads the page, unless the
// person is typing in one of its forms.
(function () {
  "use strict";

  var root = document.querySelector("[data-incident-live]");
  if (!root) return;
  var only = root.getAttribute("data-incident-live");

  document.addEventListener("juggernaut:ops", function (event) {
    var message = event.detail;
    if (message.type !== "ops.notice" || message.data.kind !== "incident") return;
    if (only && String(message.data.incident) !== only) return;
    var active = document.activeElement;
    if (active && root.contains(active) && /^(INPUT|TEXTAREA)$/.test(active.tagName)) return;
    window.location.reload();
  });
})();
