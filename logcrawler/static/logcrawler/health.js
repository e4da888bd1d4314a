// The system-health page: re-fetch the live fragment (summary, top errors, alerts, sources).
(function () {
  "use strict";

  var configNode = document.getElementById("logcrawler-live-config");
  var target = document.getElementById("lc-live");
  var status = document.getElementById("live-status");
  if (!configNode || !target) return;
  var config = JSON.parse(configNode.textContent);
  var busy = false;

  function setStatus(text, stale) {
    if (!status) return;
    status.textContent = text;
    status.classList.toggle("is-stale", stale);
  }

  // Swapping the fragment under a button about to be clicked would swallow the click.
  function operatorIsActing() {
    var active = document.activeElement;
    return Boolean(active && target.contains(active) && active.tagName === "BUTTON") ||
      target.querySelector("button:disabled") !== null;
  }

  function refresh() {
    if (busy || document.hidden || operatorIsActing()) return;
    busy = true;
    fetch(config.url + window.location.search, {
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" },
    })
      .then(function (response) {
        if (!response.ok || response.redirected) throw new Error("HTTP " + response.status);
        return response.text();
      })
      .then(function (html) {
        target.innerHTML = html;
        setStatus("Live · refreshed " + new Date().toLocaleTimeString(), false);
      })
      .catch(function () {
        setStatus("Not refreshing: server unreachable or signed out. Reload the page.", true);
      })
      .finally(function () {
        busy = false;
      });
  }

  window.setInterval(refresh, config.interval_ms);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) refresh();
  });
})();
