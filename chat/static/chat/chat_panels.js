// The panels that show where the run is: the status indicator, the budget meters and the
// why-idle panel with the stop reason and its suggestions.

import { formatMoney } from "../juggernaut/money.js";
import { $, ago, el } from "./chat_dom.js";
import { BUSY, WORKING, state, urls } from "./chat_state.js";

const LABELS = {
  idle: "Idle", queued: "Queued for a worker", thinking: "Thinking",
  running_tool: "Running a tool", awaiting_approval: "Waiting for approval",
  stopped: "Stopped", error: "Error"
};

export function setStatus(status, label, detail) {
  state.status = status;
  $("chat-status").setAttribute("data-state", status);
  const text = (label || LABELS[status] || status) + (detail ? " · " + detail : "");
  $("chat-status-label").textContent = text;
  $("chat-status-label").title = text;
  const busy = BUSY.indexOf(status) >= 0;
  $("chat-stop").disabled = !busy;
  $("chat-run").disabled = busy || !(state.stop && state.stop.resumable);
  $("chat-send").disabled = busy;
  $("chat-mode").disabled = busy;
  renderWhy();
}

export function tick() {
  $("chat-status-age").textContent = state.lastEventAt ? "last event " + ago(Date.now() - state.lastEventAt) : "";
  renderMeters();
}

const METERS = [
  ["steps", "Steps", function (v) { return String(v); }],
  ["seconds", "Time", function (v) { return Math.round(v) + " s"; }],
  ["retries", "Retries", function (v) { return String(v); }],
  ["cost", "Cost", formatMoney]
];

// Routing reserves each call's worst case, so a session passes its cost limit only when a
// provider reported more than that (or the limit was lowered below what was spent): the
// meter then says so instead of reading past 100%.
function overLimitNote(entry) {
  if (Number(entry.used) <= Number(entry.limit)) return null;
  return el("div", "chat-meter-note",
    "Over the limit: a provider charged more than the worst case reserved, or the limit " +
    "was lowered. No further model call is sent.");
}

export function renderMeters() {
  const box = $("chat-meters");
  box.textContent = "";
  METERS.forEach(function (meter) {
    const entry = state.budget[meter[0]];
    let used = Number(entry.used);
    const limit = Number(entry.limit);
    const money = meter[0] === "cost";
    if (meter[0] === "seconds" && WORKING.indexOf(state.status) >= 0) {
      used += (Date.now() - state.budgetAt) / 1000;  // the clock runs between events
    }
    const share = limit > 0 ? Math.min(used / limit, 1) : 1;
    const level = share >= 0.9 ? "is-danger" : share >= 0.6 ? "is-warn" : "is-ok";
    const item = el("div", "chat-meter " + level);
    item.setAttribute("data-meter", meter[0]);
    const head = el("div", "chat-meter-head");
    head.appendChild(el("span", "chat-meter-label", meter[1]));
    // Money is shown from its decimal text, exact; the other meters from their numbers.
    const shown = money ? [entry.used, entry.limit] : [used, limit];
    head.appendChild(el("span", "chat-meter-value", meter[2](shown[0]) + " / " + meter[2](shown[1])));
    const track = el("div", "chat-meter-track");
    const fill = el("div", "chat-meter-fill");
    fill.style.width = (share * 100).toFixed(1) + "%";
    track.appendChild(fill);
    track.setAttribute("role", "meter");
    track.setAttribute("aria-valuenow", String(used));
    track.setAttribute("aria-valuemax", String(limit));
    track.setAttribute("aria-label", meter[1]);
    item.appendChild(head);
    item.appendChild(track);
    const note = money ? overLimitNote(entry) : null;
    if (note) {
      item.classList.add("is-over");
      item.appendChild(note);
    }
    box.appendChild(item);
  });
}

export function renderWhy() {
  const panel = $("chat-why");
  const stop = state.stop;
  if (!stop || BUSY.indexOf(state.status) >= 0 && state.status !== "awaiting_approval") {
    panel.hidden = true;
    return;
  }
  panel.hidden = false;
  panel.setAttribute("data-reason", stop.reason);
  $("chat-why-reason").textContent = stop.label;
  $("chat-why-sentence").textContent = stop.sentence;
  $("chat-why-detail").textContent = stop.detail || "";
  const list = $("chat-why-suggestions");
  list.textContent = "";
  stop.suggestions.forEach(function (text) { list.appendChild(el("li", "", text)); });
  if (stop.reason === "awaiting_approval" && state.approvalTask) {
    const item = el("li");
    const link = el("a", "", "Open engine task #" + state.approvalTask + " to decide");
    link.href = urls.task.replace("{id}", state.approvalTask);
    item.appendChild(link);
    list.appendChild(item);
  }
}
