// The page's snapshot from the server (#chat-data) and the state the modules share.

export const data = JSON.parse(document.getElementById("chat-data").textContent);
export const urls = data.urls;
export const types = data.schema.types;
export const BUSY = ["queued", "thinking", "running_tool", "awaiting_approval"];
export const WORKING = ["thinking", "running_tool"];

export const state = {
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
