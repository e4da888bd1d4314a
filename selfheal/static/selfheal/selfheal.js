// The self-heal page: run a playbook through the API, show its progress while it runs (by
// polling the small progress endpoint), then re-render the execution and history fragments.
(function () {
  "use strict";

  var data = JSON.parse(document.getElementById("selfheal-data").textContent);
  var POLL_MS = 400;
  var buttons = document.querySelectorAll("[data-run]");
  var message = document.getElementById("sh-message");
  var progress = document.getElementById("sh-progress");
  var polling = null;

  function url(template, id) { return template.replace("/0/", "/" + id + "/"); }

  function say(text, kind) {
    message.textContent = text;
    message.className = "msg sh-message" + (kind ? " is-" + kind : "");
    message.hidden = !text;
  }

  function setBusy(busy) {
    buttons.forEach(function (button) { button.disabled = busy; });
  }

  function showProgress(running) {
    if (!running.length) { progress.hidden = true; return; }
    var run = running[0];
    var step = run.progress || {};
    var of = step.of || 1;
    var done = Math.min(step.step || 0, of);
    var percent = Math.round((100 * done) / of);
    progress.hidden = false;
    document.getElementById("sh-progress-title").textContent =
      run.playbook.charAt(0).toUpperCase() + run.playbook.slice(1) + (run.dry_run ? " (dry run)" : "") +
      " #" + run.id + " running, by " + run.triggered_by;
    document.getElementById("sh-progress-step").textContent = "step " + done + " of " + of;
    document.getElementById("sh-progress-label").textContent = step.label || "";
    document.getElementById("sh-progress-fill").style.width = percent + "%";
    progress.querySelector("[role=progressbar]").setAttribute("aria-valuenow", String(percent));
  }

  function poll() {
    return fetch(data.api.progress, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : { running: [] }; })
      .then(function (body) { showProgress(body.running); return body.running; })
      .catch(function () { return []; });
  }

  function startPolling() {
    if (polling) return;
    polling = window.setInterval(poll, POLL_MS);
    poll();
  }

  function stopPolling() {
    if (polling) window.clearInterval(polling);
    polling = null;
    progress.hidden = true;
  }

  function swap(id, html) {
    var holder = document.getElementById(id);
    if (holder) holder.innerHTML = html;
  }

  function refresh(executionId) {
    var jobs = [fetch(data.lists, { credentials: "same-origin" }).then(function (r) { return r.text(); })
      .then(function (html) { swap("sh-lists", html); })];
    if (executionId) {
      jobs.push(fetch(url(data.panel, executionId), { credentials: "same-origin" })
        .then(function (r) { return r.text(); })
        .then(function (html) {
          swap("sh-execution", html);
          window.history.replaceState(null, "", data.page + "?execution=" + executionId);
        }));
    }
    return Promise.all(jobs);
  }

  function post(target, body) {
    return fetch(target, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": data.csrf_token },
      body: JSON.stringify(body || {}),
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        return { status: response.status, body: json };
      });
    });
  }

  function explain(result) {
    if (result.status === 409) return say(result.body.detail || "Already running.", "busy");
    var detail = result.body.detail || JSON.stringify(result.body);
    say("Refused (" + result.status + "): " + detail, "error");
  }

  function afterAutoheal(body) {
    var ran = body.decisions.filter(function (d) { return d.ran; });
    var waiting = body.decisions.filter(function (d) { return !d.ran; });
    var parts = ["Auto-heal: diagnosis #" + body.diagnosis.id + " (" + (body.diagnosis.worst_severity || "ok") + ")."];
    if (ran.length) parts.push("Ran: " + ran.map(function (d) { return d.rule + " → #" + d.execution; }).join(", ") + ".");
    if (waiting.length) parts.push("Held back: " + waiting.map(function (d) { return d.rule + " (" + d.reason + ")"; }).join("; ") + ".");
    if (!body.decisions.length) parts.push("No rule matched a finding.");
    say(parts.join(" "));
    return ran.length ? body.executions[body.executions.length - 1] : body.diagnosis.id;
  }

  function run(kind, target, body) {
    setBusy(true);
    say("");
    startPolling();
    return post(target, body)
      .then(function (result) {
        if (result.status === 200 && kind === "autoheal") return refresh(afterAutoheal(result.body));
        if (result.status === 201) {
          var body = result.body;
          if (body.state === "failed") say("The run failed: " + body.error, "error");
          // Partly done (a revert that left rows) or held back by a spent bound: never
          // shown as a plain success.
          else if (body.state === "partial" || body.budget_spent) say(body.summary, "warn");
          return refresh(body.id);
        }
        explain(result);
        return refresh(null);
      })
      .catch(function (error) { say("The request failed: " + error, "error"); })
      .then(function () { stopPolling(); setBusy(false); });
  }

  document.getElementById("sh-actions").addEventListener("click", function (event) {
    var button = event.target.closest("[data-run]");
    if (!button) return;
    var kind = button.getAttribute("data-run");
    var body = kind === "repair" ? { dry_run: document.getElementById("sh-dry-run").checked } : {};
    run(kind, data.api[kind], body);
  });

  document.addEventListener("click", function (event) {
    var revert = event.target.closest("[data-revert]");
    if (revert) {
      var id = revert.getAttribute("data-revert");
      if (!window.confirm("Restore every row execution #" + id + " changed (rows changed since are left)?")) return;
      run("revert", url(data.api.revert, id), {});
      return;
    }
    var show = event.target.closest("a[data-show]");
    if (show && !event.ctrlKey && !event.metaKey) {
      event.preventDefault();
      refresh(show.getAttribute("data-show"));
    }
  });

  // A run started elsewhere (another tab, the schedule): follow it, then show the result.
  if (data.running.length) {
    var followed = data.running[0].id;
    showProgress(data.running);
    setBusy(true);
    var watcher = window.setInterval(function () {
      poll().then(function (running) {
        if (running.length) { followed = running[0].id; return; }
        window.clearInterval(watcher);
        setBusy(false);
        refresh(followed);
      });
    }, POLL_MS);
  }
})();
