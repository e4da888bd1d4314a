// Every page: the connection indicator in the header, driven by the operator stream
// (/ws/ops/), and operator-wide notices (a new alert) shown under the header.
// Pages may listen for its events: document "juggernaut:ops" (detail: the event).
(function () {
  "use strict";
  var indicator = document.getElementById("connection-indicator");
  if (!indicator || !window.WebSocket) return;
  var label = indicator.querySelector(".conn-label");
  var retries = 0;
  var lastHeard = 0;
  var current = null;
  var STALE_MS = 70000;  // two missed heartbeats: the socket is as good as gone

  function show(status, text, title) {
    indicator.hidden = false;
    indicator.classList.toggle("is-connecting", status === "connecting");
    indicator.classList.toggle("is-down", status === "down");
    indicator.setAttribute("data-status", status);
    indicator.title = title || "";
    if (label) label.textContent = text;
  }

  function notice(text, href) {
    var box = document.getElementById("ops-notices");
    if (!box) {
      box = document.createElement("div");
      box.id = "ops-notices";
      box.className = "messages";
      box.setAttribute("role", "status");
      var header = document.querySelector("header.topbar");
      if (header) header.after(box); else document.body.prepend(box);
    }
    var item = document.createElement("div");
    item.className = "msg msg-warning";
    var link = document.createElement("a");
    link.href = href;
    link.textContent = text;
    var dismiss = document.createElement("button");
    dismiss.type = "button";
    dismiss.className = "btn btn-ghost btn-sm";
    dismiss.textContent = "×";
    dismiss.setAttribute("aria-label", "Dismiss");
    dismiss.addEventListener("click", function () { item.remove(); });
    item.append(link, " ", dismiss);
    box.append(item);
    while (box.children.length > 3) box.firstChild.remove();
  }

  // The operator notices this script shows, by kind (chat/events.py NOTICE_KINDS).
  var NOTICES = {
    "alert": function (data) {
      notice("New alert (" + data.severity + "): " + data.title, data.url);
    },
    "incident": function (data) {
      notice("Incident #" + data.incident + " " + data.state.replace(/_/g, " ") + ": " + data.title, data.url);
    },
  };

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + window.location.host + "/ws/ops/");
    current = socket;
    show("connecting", "Connecting…", "Opening the live stream");
    socket.onopen = function () {
      retries = 0;
      lastHeard = Date.now();
      show("live", "Live", "Live updates are on");
    };
    socket.onmessage = function (message) {
      lastHeard = Date.now();
      var event = JSON.parse(message.data);
      if (event.type === "ops.notice" && NOTICES[event.data.kind]) {
        NOTICES[event.data.kind](event.data);
      }
      if (event.type !== "ping") {
        document.dispatchEvent(new CustomEvent("juggernaut:ops", { detail: event }));
      }
    };
    socket.onclose = function (closed) {
      if (closed.code === 4403) {
        show("down", "Offline", "Not signed in for live updates");
        return;
      }
      retries += 1;
      var wait = Math.min(1000 * Math.pow(2, retries - 1), 30000);
      show("down", "Reconnecting", "Live updates lost; retrying in " + Math.round(wait / 1000) + " s");
      window.setTimeout(connect, wait);
    };
  }

  window.setInterval(function () {
    if (current && current.readyState === WebSocket.OPEN && Date.now() - lastHeard > STALE_MS) {
      current.close();
    }
  }, 10000);
  connect();
})();
