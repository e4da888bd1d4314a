// The conversation and the tool timeline: messages as they stream, each tool execution
// expandable to its arguments, result and duration.

import { formatMoney } from "../juggernaut/money.js";
import { $, el, pretty } from "./chat_dom.js";
import { data, urls } from "./chat_state.js";

// The instructions' author: "You", the owner a staff member is looking over, or the task
// that made a system session (the server says which: chat/views.py author_label).
const ROLE_LABELS = { user: data.author || "You", assistant: "Agent", system: "Guardrail", error: "Error", note: "Note" };

export function addMessage(role, content, meta) {
  const item = el("li", "chat-msg chat-" + role);
  item.appendChild(el("div", "chat-msg-role", ROLE_LABELS[role] || role));
  item.appendChild(el("div", "chat-msg-text", content));
  if (meta) item.appendChild(el("div", "chat-msg-meta faint", meta));
  $("chat-messages").appendChild(item);
  item.scrollIntoView({ block: "end" });
  return item;
}

export function assistantMeta(message) {
  const parts = [];
  if (message.provider) parts.push(message.provider);
  if (message.tool_calls && message.tool_calls.length) {
    parts.push("calls " + message.tool_calls.map(function (c) { return c["function"].name; }).join(", "));
  }
  if (message.cost !== undefined) parts.push(formatMoney(message.cost));
  return parts.join(" · ");
}

function timelineEntry(id) {
  const existing = document.querySelector("#chat-timeline [data-execution='" + id + "']");
  if (existing) return existing;
  const item = el("li", "chat-tool");
  item.setAttribute("data-execution", String(id));
  const details = el("details");
  const summary = el("summary");
  summary.appendChild(el("span", "chat-tool-name"));
  summary.appendChild(el("span", "chat-tool-state badge"));
  summary.appendChild(el("span", "chat-tool-duration faint"));
  details.appendChild(summary);
  details.appendChild(el("div", "chat-tool-body"));
  item.appendChild(details);
  $("chat-timeline").appendChild(item);
  const count = document.querySelectorAll("#chat-timeline .chat-tool").length;
  $("chat-tool-count").textContent = count + (count === 1 ? " call" : " calls");
  return item;
}

function section(body, title, text) {
  if (text === undefined || text === null || text === "") return;
  body.appendChild(el("div", "chat-tool-section", title));
  body.appendChild(el("pre", "block", text));
}

function renderExecution(execution) {
  const item = timelineEntry(execution.id);
  item.setAttribute("data-state", execution.state);
  item.querySelector(".chat-tool-name").textContent = execution.tool;
  const badge = item.querySelector(".chat-tool-state");
  badge.textContent = execution.state.replace("_", " ");
  badge.className = "chat-tool-state badge tool-" + execution.state;
  item.querySelector(".chat-tool-duration").textContent =
    execution.duration_ms !== null && execution.duration_ms !== undefined ? execution.duration_ms + " ms" : "";
  const body = item.querySelector(".chat-tool-body");
  body.textContent = "";
  section(body, "Arguments", pretty(execution.arguments || {}));
  section(body, "Result", execution.output ? pretty(execution.output) : "");
  section(body, "Error", execution.error);
  if (execution.approval_task) {
    const link = el("a", "", "Engine task #" + execution.approval_task);
    link.href = urls.task.replace("{id}", execution.approval_task);
    body.appendChild(link);
  }
}

const executions = {};

export function updateExecution(id, fields) {
  const execution = executions[id] || { id: id, arguments: {}, state: "running" };
  Object.keys(fields).forEach(function (key) { execution[key] = fields[key]; });
  executions[id] = execution;
  renderExecution(execution);
}
