// The code-health page: while a scan runs, show its progress and reload when it ends.
// The page hands over {"progress_url", "poll_ms"} as json_script "codehealth-config".
(function () {
  "use strict";

  var configNode = document.getElementById("codehealth-config");
  if (!configNode) return;
  var config = JSON.parse(configNode.textContent);
  var panel = document.getElementById("scan-progress");
  var bar = document.getElementById("scan-bar");
  var phase = document.getElementById("scan-phase");
  if (!config.progress_url || !panel) return;

  function show(state) {
    panel.hidden = false;
    if (bar) {
      bar.value = state.progress;
      bar.textContent = state.progress + "%";
    }
    if (phase) phase.textContent = state.status + (state.phase ? ": " + state.phase : "");
  }

  function poll() {
    fetch(config.progress_url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok || response.redirected) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (state) {
        show(state);
        if (state.finished) {
          window.location.reload();
          return;
        }
        window.setTimeout(poll, config.poll_ms);
      })
      .catch(function () {
        if (phase) phase.textContent = "progress unavailable (server unreachable or signed out); reload the page";
      });
  }

  window.setTimeout(poll, config.poll_ms);
})();
