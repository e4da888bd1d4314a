// The chat page's list of sessions, kept live by the operator stream: connection.js
// re-dispatches what /ws/ops/ sends as the document event "juggernaut:ops". The server sends
// each user only the sessions they may see (all of them to staff), so whatever arrives may be
// listed. LIST_HANDLERS must name only operator-stream types: tests/chat/test_contract.py.

const config = JSON.parse(document.getElementById("chat-list-data").textContent);
const list = document.getElementById("chat-session-list");

function entry(id) {
  return list.querySelector("li[data-session='" + id + "']");
}

function span(className, text) {
  const node = document.createElement("span");
  node.className = className;
  node.textContent = text;
  return node;
}

// The same markup templates/chat/page.html draws.
function build(id) {
  const item = document.createElement("li");
  item.setAttribute("data-session", String(id));
  const link = document.createElement("a");
  link.href = config.url.replace("{id}", id) + (config.query ? "?" + config.query : "");
  const sub = span("sub-line", "#" + id + " · ");
  sub.append(span("mode", ""), " · ", span("state", ""));
  link.append(span("title", "Untitled"), sub);
  item.append(link);
  if (id === config.current) {
    item.classList.add("is-current");
    link.setAttribute("aria-current", "page");
  }
  return item;
}

function render(item, fields) {
  if (fields.title) item.querySelector(".title").textContent = fields.title;
  item.querySelector(".mode").textContent = config.modes[fields.mode] || fields.mode;
  item.querySelector(".state").textContent = fields.label;
  item.setAttribute("data-state", fields.state);
  const old = item.querySelector(".reason");
  if (old) old.remove();
  const reason = config.reasons[fields.stop_reason];
  if (reason && config.reason_shown.indexOf(fields.state) >= 0) {
    item.querySelector(".sub-line").append(span("reason", ": " + reason));
  }
}

// The list is newest activity first, as the server orders it (by the time it last changed).
function upsert(id, fields) {
  // A filtered list cannot tell whether a session it does not show would match.
  if (config.filtered && !entry(id)) return;
  const item = entry(id) || build(id);
  render(item, fields);
  if (list.firstElementChild !== item) list.prepend(item);
  const empty = list.querySelector("li.empty");
  if (empty) empty.remove();
  const noSession = document.getElementById("chat-no-session");
  if (noSession) {
    noSession.querySelector("h2").textContent = "Pick a session";
    noSession.querySelector("p").textContent = "Open one from the list, or start another with New session.";
  }
  const listed = list.querySelectorAll("li[data-session]");
  for (let i = config.limit; i < listed.length; i += 1) listed[i].remove();
}

const LIST_HANDLERS = {
  "session.created": function (event) { upsert(event.session, event.data); },
  "session.status": function (event) { upsert(event.session, event.data); },
};

document.addEventListener("juggernaut:ops", function (dispatched) {
  const event = dispatched.detail;
  const handler = LIST_HANDLERS[event.type];
  if (handler && event.session !== null && event.data) handler(event);
});
