// The controls: the composer, Run, Stop, the mode selector and the budget form.

import { $ } from "./chat_dom.js";
import { api, attempt, showError } from "./chat_api.js";
import { BUSY, state, urls } from "./chat_state.js";

// A button is disabled only while its request is in flight and comes back on every outcome;
// Send stays disabled after that only while a run is busy (setStatus keeps that part).
function inFlight(button, promise) {
  button.disabled = true;
  return promise.finally(function () {
    button.disabled = button.id === "chat-send" && BUSY.indexOf(state.status) >= 0;
  });
}

export function wireControls() {
  $("chat-composer").addEventListener("submit", function (event) {
    event.preventDefault();
    const input = $("chat-input");
    const content = input.value.trim();
    if (!content) {
      showError("Write a message first.");
      return;
    }
    inFlight($("chat-send"), attempt(api(urls.messages, { content: content }).then(function () { input.value = ""; })));
  });
  $("chat-input").addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      $("chat-composer").requestSubmit();
    }
  });
  $("chat-run").addEventListener("click", function () { attempt(api(urls.run)); });
  $("chat-stop").addEventListener("click", function () { attempt(api(urls.stop)); });
  $("chat-mode").addEventListener("change", function (event) {
    attempt(api(urls.mode, { mode: event.target.value }).catch(function (error) {
      event.target.value = state.mode;
      throw error;
    }));
  });
  $("chat-budget-form").addEventListener("submit", function (event) {
    event.preventDefault();
    const body = {};
    Array.prototype.forEach.call(event.target.elements, function (field) {
      if (field.name && field.value !== "") body[field.name] = field.name === "max_cost" ? field.value : Number(field.value);
    });
    inFlight(event.submitter || event.target.querySelector("button[type=submit]"),
      attempt(api(urls.budgets, body).then(function () { event.target.reset(); })));
  });
}
