// The chat page: one session, kept live by its websocket. No build step, no dependencies:
// plain ES modules, this one the entry (templates/chat/page.html loads it).
//   chat_state.js         the server's snapshot (#chat-data) and the shared state
//   chat_dom.js           DOM and formatting helpers
//   chat_api.js           requests to the chat API, errors shown
//   chat_panels.js        status indicator, budget meters, why idle
//   chat_conversation.js  messages and the tool timeline
//   chat_events.js        HANDLERS: what each event type does (checked against the server's)
//   chat_stream.js        the websocket, seq order, gaps read back from the API
//   chat_controls.js      composer, Run, Stop, mode, budgets
// The list of sessions is session_list.js, driven by the operator stream.

import { $, el } from "./chat_dom.js";
import { addMessage, assistantMeta, updateExecution } from "./chat_conversation.js";
import { wireControls } from "./chat_controls.js";
import { HANDLERS } from "./chat_events.js";
import { renderMeters, setStatus, tick } from "./chat_panels.js";
import { data, state } from "./chat_state.js";
import { connect } from "./chat_stream.js";

// First paint from the snapshot, then live.
data.modes.forEach(function (mode) {
  const option = el("option", "", mode.label);
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
  updateExecution(execution.id, Object.assign({}, execution, { output: execution.output || "" }));
});
wireControls();
$("chat-status").setAttribute("data-last-seq", String(state.lastSeq));
setStatus(state.status);
renderMeters();
tick();
window.setInterval(tick, 1000);
connect(HANDLERS);
