// Pages with a live part (the Engine page, Logs): re-fetch that fragment every few
// seconds. The page marks the part with data-live-fragment and hands over
// {"url", "interval_ms"} as {{ live_config|json_script:"live-config" }}. A page may also name,
// in data-refresh-on, operator-stream event types (chat/events.py, those marked ops) that
// refresh the part at once: connection.js dispatches them as the document event
// "juggernaut:ops". The clock still runs for what the stream does not carry.
(function () {
  "use strict";

  var configNode = document.getElementById("live-config");
  var target = document.querySelector("[data-live-fragment]");
  var status = document.getElementById("live-status");
  if (!configNode || !target) return;
  var config = JSON.parse(configNode.textContent);
  var refreshOn = (target.getAttribute("data-refresh-on") || "").split(/\s+/).filter(Boolean);
  var busy = false;
  var again = false;  // an event arrived during a refresh: its change may have missed it
  var soon = null;

  function setStatus(text, stale) {
    if (!status) return;
    status.textContent = text;
    status.classList.toggle("is-stale", stale);
  }

  // Replacing the fragment under a pointer that is about to click would swallow the click,
  // and replacing a form the operator is in would erase what they typed: while they focus a
  // control of the fragment, or left a field changed and unsent, the fragment is left alone.
  function operatorIsActing() {
    var active = document.activeElement;
    if (active && target.contains(active) && /^(BUTTON|INPUT|SELECT|TEXTAREA)$/.test(active.tagName)) {
      return true;
    }
    if (target.querySelector("button:disabled") !== null) return true;
    return Array.prototype.some.call(target.querySelectorAll("input, textarea"), function (field) {
      return field.type !== "hidden" && field.value !== field.defaultValue;
    });
  }

  function refresh() {
    if (busy || document.hidden) return;
    if (operatorIsActing()) {
      setStatus("Paused while you fill in a form", false);
      return;
    }
    busy = true;
    fetch(config.url + window.location.search, {
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" },
    })
      .then(function (response) {
        // A redirect means the session ended: the login page is not a fragment.
        if (!response.ok || response.redirected) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (html) {
        target.innerHTML = html;
        // UTC like every time on the site (the footer says so), never the browser's zone.
        setStatus("Live · refreshed " + new Date().toISOString().slice(11, 19), false);
      })
      .catch(function () {
        setStatus("Not refreshing: server unreachable or signed out. Reload the page.", true);
      })
      .finally(function () {
        busy = false;
        if (again) {
          again = false;
          refreshSoon();
        }
      });
  }

  // A burst of events (a run stopping sends several) makes one request.
  function refreshSoon() {
    if (soon !== null) return;
    soon = window.setTimeout(function () {
      soon = null;
      again = busy;
      refresh();
    }, 200);
  }

  if (refreshOn.length) {
    document.addEventListener("juggernaut:ops", function (event) {
      if (refreshOn.indexOf(event.detail.type) >= 0) refreshSoon();
    });
  }

  window.setInterval(refresh, config.interval_ms);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) refresh();
  });
})();
