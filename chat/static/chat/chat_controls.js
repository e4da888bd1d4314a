// The controls: the composer, Run, Stop, the mode selector and the budget form.

import { $ } from "./chat_dom.js";
import { api, attempt } from "./chat_api.js";
import { state, urls } from "./chat_state.js";

export function wireControls() {
  $("chat-composer").addEventListener("submit", function (event) {
    event.preventDefault();
    const input = $("chat-input");
    const content = input.value.trim();
    if (!content) return;
    attempt(api(urls.messages, { content: content }).then(function () { input.value = ""; }));
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
    attempt(api(urls.budgets, body).then(function () { event.target.reset(); }));
  });
}
