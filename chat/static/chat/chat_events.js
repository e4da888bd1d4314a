// What each event does to the page. HANDLERS must handle exactly the server's event types
// (chat/events.py, handed over in #chat-data): tests/chat/test_contract.py checks it.

import { $, el } from "./chat_dom.js";
import { addMessage, assistantMeta, updateExecution } from "./chat_conversation.js";
import { renderMeters, renderWhy, setStatus } from "./chat_panels.js";
import { state } from "./chat_state.js";
import { fillGap } from "./chat_stream.js";

export const HANDLERS = {
  "session.created": function () {
    // The first event of every session: nothing to draw; the list hears it on /ws/ops/.
  },
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
  },
  "message.delta": function (event) {
    if (!state.streaming || state.streaming.step !== event.data.step) {
      const item = addMessage("assistant", "");
      item.classList.add("is-streaming");
      state.streaming = { step: event.data.step, item: item };
    }
    const text = state.streaming.item.querySelector(".chat-msg-text");
    text.textContent += event.data.text;
    state.streaming.item.scrollIntoView({ block: "end" });
  },
  "message.done": function (event) {
    const message = event.data;
    let item = state.streaming && state.streaming.step === message.step ? state.streaming.item : null;
    state.streaming = null;
    if (!message.content && !(item && item.querySelector(".chat-msg-text").textContent)) {
      if (item) item.remove();
      if (!message.tool_calls.length) addMessage("assistant", "(empty answer)", assistantMeta(message));
      return;
    }
    if (!item) item = addMessage("assistant", "");
    item.classList.remove("is-streaming");
    item.querySelector(".chat-msg-text").textContent = message.content;
    const meta = item.querySelector(".chat-msg-meta") || item.appendChild(el("div", "chat-msg-meta faint"));
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
