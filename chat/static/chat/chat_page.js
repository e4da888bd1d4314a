// The chat page: one session, kept live by its websocket. No build step, no dependencies.
// The event types and their fields come from the server (chat/events.py) in #chat-data;
// HANDLERS below must handle exactly those types: tests/chat/test_contract.py checks it.
(function () {
  "use strict";

  var data = JSON.parse(document.getElementById("chat-data").textContent);
  var urls = data.urls;
  var types = data.schema.types;
  var BUSY = ["queued", "thinking", "running_tool", "awaiting_approval"];
  var WORKING = ["thinking", "running_tool"];

  var state = {
    lastSeq: data.session.last_seq,
    status: data.session.state,
    mode: data.session.mode,
    stop: data.session.stop,
    budget: data.session.budget,
    budgetAt: Date.now(),
    lastEventAt: data.session.last_event_at ? Date.parse(data.session.last_event_at) : null,
    streaming: null,
    pending: [],
    filling: false,
    socket: null,
    retries: 0,
    approvalTask: null
  };

  function $(id) { return document.getElementById(id); }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function pretty(value) {
    if (typeof value === "string") {
      try { return JSON.stringify(JSON.parse(value), null, 2); } catch (e) { return value; }
    }
    return JSON.stringify(value, null, 2);
  }

  // --- talking to the API -----------------------------------------------------------

  function api(url, body, method) {
    return fetch(url, {
      method: method || "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": data.csrf },
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (payload) {
        if (!response.ok) throw new Error(describeError(payload, response.status));
        return payload;
      });
    });
  }

  function describeError(payload, status) {
    if (payload && payload.detail) return payload.detail;
    if (payload && typeof payload === "object") {
      return Object.keys(payload).map(function (key) {
        var value = payload[key];
        return key + ": " + (Array.isArray(value) ? value.join(" ") : value);
      }).join("; ") || "HTTP " + status;
    }
    return "HTTP " + status;
  }

  function showError(message) {
    var box = $("chat-error");
    box.textContent = message || "";
    box.hidden = !message;
  }

  // --- the status indicator ------------------------------------------------------------

  var LABELS = {
    idle: "Idle", queued: "Queued for a worker", thinking: "Thinking",
    running_tool: "Running a tool", awaiting_approval: "Waiting for approval",
    stopped: "Stopped", error: "Error"
  };

  function setStatus(status, label, detail) {
    state.status = status;
    var box = $("chat-status");
    box.setAttribute("data-state", status);
    $("chat-status-label").textContent = (label || LABELS[status] || status) + (detail ? " · " + detail : "");
    var busy = BUSY.indexOf(status) >= 0;
    $("chat-stop").disabled = !busy;
    $("chat-run").disabled = busy || !(state.stop && state.stop.resumable);
    $("chat-send").disabled = busy;
    $("chat-mode").disabled = busy;
    renderWhy();
  }

  function ago(ms) {
    var seconds = Math.max(0, Math.round(ms / 1000));
    if (seconds < 60) return seconds + " s ago";
    if (seconds < 3600) return Math.floor(seconds / 60) + " min ago";
    return Math.floor(seconds / 3600) + " h ago";
  }

  function tick() {
    $("chat-status-age").textContent = state.lastEventAt ? "last event " + ago(Date.now() - state.lastEventAt) : "";
    renderMeters();
  }

  // --- budgets -------------------------------------------------------------------------

  var METERS = [
    ["steps", "Steps", function (v) { return String(v); }],
    ["seconds", "Time", function (v) { return Math.round(v) + " s"; }],
    ["retries", "Retries", function (v) { return String(v); }],
    ["cost", "Cost", function (v) { return "$" + Number(v).toFixed(4); }]
  ];

  function renderMeters() {
    var box = $("chat-meters");
    box.textContent = "";
    METERS.forEach(function (meter) {
      var entry = state.budget[meter[0]];
      var used = Number(entry.used);
      var limit = Number(entry.limit);
      if (meter[0] === "seconds" && WORKING.indexOf(state.status) >= 0) {
        used += (Date.now() - state.budgetAt) / 1000;  // the clock runs between events
      }
      var share = limit > 0 ? Math.min(used / limit, 1) : 1;
      var level = share >= 0.9 ? "is-danger" : share >= 0.6 ? "is-warn" : "is-ok";
      var item = el("div", "chat-meter " + level);
      item.setAttribute("data-meter", meter[0]);
      var head = el("div", "chat-meter-head");
      head.appendChild(el("span", "chat-meter-label", meter[1]));
      head.appendChild(el("span", "chat-meter-value", meter[2](used) + " / " + meter[2](limit)));
      var track = el("div", "chat-meter-track");
      var fill = el("div", "chat-meter-fill");
      fill.style.width = (share * 100).toFixed(1) + "%";
      track.appendChild(fill);
      track.setAttribute("role", "meter");
      track.setAttribute("aria-valuenow", String(used));
      track.setAttribute("aria-valuemax", String(limit));
      track.setAttribute("aria-label", meter[1]);
      item.appendChild(head);
      item.appendChild(track);
      box.appendChild(item);
    });
  }

  // --- the conversation ------------------------------------------------------------------

  var ROLE_LABELS = { user: "You", assistant: "Agent", system: "Guardrail", error: "Error", note: "Note" };

  function addMessage(role, content, meta) {
    var item = el("li", "chat-msg chat-" + role);
    item.appendChild(el("div", "chat-msg-role", ROLE_LABELS[role] || role));
    item.appendChild(el("div", "chat-msg-text", content));
    if (meta) item.appendChild(el("div", "chat-msg-meta faint", meta));
    $("chat-messages").appendChild(item);
    item.scrollIntoView({ block: "end" });
    return item;
  }

  function assistantMeta(message) {
    var parts = [];
    if (message.provider) parts.push(message.provider);
    if (message.tool_calls && message.tool_calls.length) {
      parts.push("calls " + message.tool_calls.map(function (c) { return c["function"].name; }).join(", "));
    }
    if (message.cost !== undefined) parts.push("$" + Number(message.cost).toFixed(6));
    return parts.join(" · ");
  }

  // --- the tool timeline -----------------------------------------------------------------

  function timelineEntry(id) {
    var existing = document.querySelector("#chat-timeline [data-execution='" + id + "']");
    if (existing) return existing;
    var item = el("li", "chat-tool");
    item.setAttribute("data-execution", String(id));
    var details = el("details");
    var summary = el("summary");
    summary.appendChild(el("span", "chat-tool-name"));
    summary.appendChild(el("span", "chat-tool-state badge"));
    summary.appendChild(el("span", "chat-tool-duration faint"));
    details.appendChild(summary);
    details.appendChild(el("div", "chat-tool-body"));
    item.appendChild(details);
    $("chat-timeline").appendChild(item);
    $("chat-tool-count").textContent = document.querySelectorAll("#chat-timeline .chat-tool").length + " calls";
    return item;
  }

  function section(body, title, text) {
    if (text === undefined || text === null || text === "") return;
    body.appendChild(el("div", "chat-tool-section", title));
    body.appendChild(el("pre", "block", text));
  }

  function renderExecution(execution) {
    var item = timelineEntry(execution.id);
    item.setAttribute("data-state", execution.state);
    item.querySelector(".chat-tool-name").textContent = execution.tool;
    var badge = item.querySelector(".chat-tool-state");
    badge.textContent = execution.state.replace("_", " ");
    badge.className = "chat-tool-state badge tool-" + execution.state;
    item.querySelector(".chat-tool-duration").textContent =
      execution.duration_ms !== null && execution.duration_ms !== undefined ? execution.duration_ms + " ms" : "";
    var body = item.querySelector(".chat-tool-body");
    body.textContent = "";
    section(body, "Arguments", pretty(execution.arguments || {}));
    section(body, "Result", execution.output ? pretty(execution.output) : "");
    section(body, "Error", execution.error);
    if (execution.approval_task) {
      var link = el("a", "", "Engine task #" + execution.approval_task);
      link.href = urls.task.replace("{id}", execution.approval_task);
      body.appendChild(link);
    }
  }

  var executions = {};

  function updateExecution(id, fields) {
    var execution = executions[id] || { id: id, arguments: {}, state: "running" };
    Object.keys(fields).forEach(function (key) { execution[key] = fields[key]; });
    executions[id] = execution;
    renderExecution(execution);
  }

  // --- why idle ----------------------------------------------------------------------------

  function renderWhy() {
    var panel = $("chat-why");
    var stop = state.stop;
    if (!stop || BUSY.indexOf(state.status) >= 0 && state.status !== "awaiting_approval") {
      panel.hidden = true;
      return;
    }
    panel.hidden = false;
    panel.setAttribute("data-reason", stop.reason);
    $("chat-why-reason").textContent = stop.label;
    $("chat-why-sentence").textContent = stop.sentence;
    $("chat-why-detail").textContent = stop.detail || "";
    var list = $("chat-why-suggestions");
    list.textContent = "";
    stop.suggestions.forEach(function (text) { list.appendChild(el("li", "", text)); });
    if (stop.reason === "awaiting_approval" && state.approvalTask) {
      var item = el("li");
      var link = el("a", "", "Open engine task #" + state.approvalTask + " to decide");
      link.href = urls.task.replace("{id}", state.approvalTask);
      item.appendChild(link);
      list.appendChild(item);
    }
  }

  // --- the events --------------------------------------------------------------------------

  var HANDLERS = {
    "session.status": function (event) {
      state.mode = event.data.mode;
      $("chat-mode").value = event.data.mode;
      setStatus(event.data.state, event.data.label, event.data.detail);
    },
    "run.started": function () {
      state.stop = null;
      renderWhy();
    },
    "message.user": function (event) {
      addMessage("user", event.data.content);
      var current = document.querySelector(".chat-session-list .is-current .title");
      if (current && current.textContent === "Untitled") current.textContent = event.data.content.slice(0, 80);
    },
    "message.delta": function (event) {
      if (!state.streaming || state.streaming.step !== event.data.step) {
        var item = addMessage("assistant", "");
        item.classList.add("is-streaming");
        state.streaming = { step: event.data.step, item: item };
      }
      var text = state.streaming.item.querySelector(".chat-msg-text");
      text.textContent += event.data.text;
      state.streaming.item.scrollIntoView({ block: "end" });
    },
    "message.done": function (event) {
      var message = event.data;
      var item = state.streaming && state.streaming.step === message.step ? state.streaming.item : null;
      state.streaming = null;
      if (!message.content && !(item && item.querySelector(".chat-msg-text").textContent)) {
        if (item) item.remove();
        if (!message.tool_calls.length) addMessage("assistant", "(empty answer)", assistantMeta(message));
        return;
      }
      if (!item) item = addMessage("assistant", "");
      item.classList.remove("is-streaming");
      item.querySelector(".chat-msg-text").textContent = message.content;
      var meta = item.querySelector(".chat-msg-meta") || item.appendChild(el("div", "chat-msg-meta faint"));
      meta.textContent = assistantMeta(message);
    },
    "tool.started": function (event) {
      updateExecution(event.data.execution_id, {
        tool: event.data.tool, arguments: event.data.arguments, state: "running",
        permission: event.data.permission, duration_ms: null
      });
    },
    "tool.finished": function (event) {
      updateExecution(event.data.execution_id, {
        tool: event.data.tool, state: "succeeded", output: event.data.output,
        result_summary: event.data.summary, duration_ms: event.data.duration_ms
      });
    },
    "tool.failed": function (event) {
      if (event.data.execution_id === null) return;
      updateExecution(event.data.execution_id, {
        tool: event.data.tool, state: event.data.state, error: event.data.error,
        duration_ms: event.data.duration_ms
      });
    },
    "budget.updated": function (event) {
      state.budget = event.data;
      state.budgetAt = Date.now();
      renderMeters();
    },
    "guardrail.tripped": function (event) {
      addMessage("system", event.data.detail, event.data.rule + " · " + event.data.action);
    },
    "approval.requested": function (event) {
      state.approvalTask = event.data.task_id;
      updateExecution(event.data.execution_id, {
        tool: event.data.tool, arguments: event.data.arguments, state: "awaiting_approval",
        approval_task: event.data.task_id
      });
    },
    "approval.decided": function (event) {
      state.approvalTask = null;
      addMessage("note", "Task #" + event.data.task_id + " " + event.data.decision + (event.data.by ? " by " + event.data.by : ""));
    },
    "run.stopped": function (event) {
      state.stop = event.data;
      renderWhy();
      setStatus(state.status);
    },
    "error": function (event) {
      addMessage("error", event.data.message, event.data.code);
    },
    "ping": function (event) {
      if (event.data.last_seq !== null && event.data.last_seq > state.lastSeq) fillGap();
    }
  };

  function valid(event) {
    var spec = types[event.type];
    if (!spec || !HANDLERS[event.type]) return false;
    return spec.required.every(function (field) { return event.data && field in event.data; });
  }

  function apply(event) {
    state.lastSeq = event.seq;
    state.lastEventAt = Date.parse(event.ts) || Date.now();
    $("chat-status").setAttribute("data-last-seq", String(state.lastSeq));
    if (valid(event)) {
      HANDLERS[event.type](event);
    } else if (window.console) {
      console.warn("chat: an event the page does not understand", event);
    }
  }

  function drain() {
    state.pending.sort(function (a, b) { return a.seq - b.seq; });
    while (state.pending.length && state.pending[0].seq <= state.lastSeq + 1) {
      var event = state.pending.shift();
      if (event.seq === state.lastSeq + 1) apply(event);
    }
    if (state.pending.length) fillGap();
  }

  // A seq beyond the next one means events were lost on the way (a full channel, a
  // reconnect): read the missing range from the API, then carry on in order.
  function fillGap() {
    if (state.filling) return;
    state.filling = true;
    fetch(urls.events + "?after=" + state.lastSeq + "&limit=500", { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (page) {
        page.events.forEach(function (event) { if (event.seq === state.lastSeq + 1) apply(event); });
        state.filling = false;
        if (page.has_more) fillGap(); else drain();
      })
      .catch(function () {
        state.filling = false;
        window.setTimeout(fillGap, 1000);
      });
  }

  function receive(event) {
    if (event.type === "ping") { HANDLERS.ping(event); return; }
    if (event.seq <= state.lastSeq) return;
    if (event.seq > state.lastSeq + 1) {
      state.pending.push(event);
      fillGap();
      return;
    }
    apply(event);
    if (state.pending.length) drain();
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + urls.ws + "?after=" + state.lastSeq);
    state.socket = socket;
    socket.onopen = function () { state.retries = 0; };
    socket.onmessage = function (message) { receive(JSON.parse(message.data)); };
    socket.onclose = function (closed) {
      if (closed.code === 4403) { showError("You may not watch this session."); return; }
      state.retries += 1;
      window.setTimeout(connect, Math.min(1000 * Math.pow(2, state.retries - 1), 15000));
    };
  }

  // --- the controls --------------------------------------------------------------------------

  function run(promise) {
    showError("");
    return promise.catch(function (error) { showError(error.message); });
  }

  $("chat-composer").addEventListener("submit", function (event) {
    event.preventDefault();
    var input = $("chat-input");
    var content = input.value.trim();
    if (!content) return;
    run(api(urls.messages, { content: content }).then(function () { input.value = ""; }));
  });
  $("chat-input").addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      $("chat-composer").requestSubmit();
    }
  });
  $("chat-run").addEventListener("click", function () { run(api(urls.run)); });
  $("chat-stop").addEventListener("click", function () { run(api(urls.stop)); });
  $("chat-mode").addEventListener("change", function (event) {
    run(api(urls.mode, { mode: event.target.value }).catch(function (error) {
      event.target.value = state.mode;
      throw error;
    }));
  });
  $("chat-budget-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var body = {};
    Array.prototype.forEach.call(event.target.elements, function (field) {
      if (field.name && field.value !== "") body[field.name] = field.name === "max_cost" ? field.value : Number(field.value);
    });
    run(api(urls.budgets, body).then(function () { event.target.reset(); }));
  });

  // --- first paint from the snapshot, then live --------------------------------------------

  data.modes.forEach(function (mode) {
    var option = el("option", "", mode.label);
    option.value = mode.value;
    $("chat-mode").appendChild(option);
  });
  $("chat-mode").value = state.mode;
  data.messages.forEach(function (message) {
    if (message.role === "tool") return;
    if (message.role === "assistant") {
      if (!message.content && message.tool_calls.length) return;
      addMessage("assistant", message.content || "(empty answer)", assistantMeta(message));
    } else {
      addMessage(message.role, message.content);
    }
  });
  data.executions.forEach(function (execution) {
    if (execution.state === "awaiting_approval") state.approvalTask = execution.approval_task;
    executions[execution.id] = execution;
    execution.output = execution.output || "";
    renderExecution(execution);
  });
  $("chat-status").setAttribute("data-last-seq", String(state.lastSeq));
  setStatus(state.status);
  renderMeters();
  tick();
  window.setInterval(tick, 1000);
  connect();
})();
