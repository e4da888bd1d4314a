// Talking to the chat API, and showing what it refused.

import { $ } from "./chat_dom.js";
import { data } from "./chat_state.js";

function describeError(payload, status) {
  if (payload && payload.detail) return payload.detail;
  if (payload && typeof payload === "object") {
    return Object.keys(payload).map(function (key) {
      const value = payload[key];
      return key + ": " + (Array.isArray(value) ? value.join(" ") : value);
    }).join("; ") || "HTTP " + status;
  }
  return "HTTP " + status;
}

export function api(url, body, method) {
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

export function showError(message) {
  const box = $("chat-error");
  box.textContent = message || "";
  box.hidden = !message;
}

// Run a control's request, clearing the last error first and showing this one's.
export function attempt(promise) {
  showError("");
  return promise.catch(function (error) { showError(error.message); });
}
