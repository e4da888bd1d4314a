// The session's websocket: every event applied once, in seq order. A seq beyond the next one
// means events were lost on the way (a full channel, a reconnect): the missing range is read
// from the API, then the page carries on in order.

import { $ } from "./chat_dom.js";
import { showError } from "./chat_api.js";
import { state, types, urls } from "./chat_state.js";

let handlers = {};

function valid(event) {
  const spec = types[event.type];
  if (!spec || !handlers[event.type]) return false;
  return spec.required.every(function (field) { return event.data && field in event.data; });
}

function apply(event) {
  state.lastSeq = event.seq;
  state.lastEventAt = Date.parse(event.ts) || Date.now();
  $("chat-status").setAttribute("data-last-seq", String(state.lastSeq));
  if (valid(event)) {
    handlers[event.type](event);
  } else if (window.console) {
    console.warn("chat: an event the page does not understand", event);
  }
}

function drain() {
  state.pending.sort(function (a, b) { return a.seq - b.seq; });
  while (state.pending.length && state.pending[0].seq <= state.lastSeq + 1) {
    const event = state.pending.shift();
    if (event.seq === state.lastSeq + 1) apply(event);
  }
  if (state.pending.length) fillGap();
}

export function fillGap() {
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
  if (event.type === "ping") { handlers.ping(event); return; }
  if (event.seq <= state.lastSeq) return;
  if (event.seq > state.lastSeq + 1) {
    state.pending.push(event);
    fillGap();
    return;
  }
  apply(event);
  if (state.pending.length) drain();
}

// Open the stream (and reopen it, backing off, when it drops), handling events with
// `eventHandlers` (chat_events.js HANDLERS).
export function connect(eventHandlers) {
  handlers = eventHandlers;
  const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
  const socket = new WebSocket(scheme + window.location.host + urls.ws + "?after=" + state.lastSeq);
  state.socket = socket;
  socket.onopen = function () { state.retries = 0; };
  socket.onmessage = function (message) { receive(JSON.parse(message.data)); };
  socket.onclose = function (closed) {
    if (closed.code === 4403) { showError("You may not watch this session (signed out?). Reload the page."); return; }
    state.retries += 1;
    window.setTimeout(function () { connect(handlers); }, Math.min(1000 * Math.pow(2, state.retries - 1), 15000));
  };
}
