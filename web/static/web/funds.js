// Funds: while a requested statement is queued or being written, asks the report-exports
// API for its status every two seconds and reloads the page once it is ready (or failed),
// so its download link appears. An API error is shown as its problem+json detail.
"use strict";
(function () {
  const list = document.getElementById("statements-list");
  if (!list) return;
  const pending = list.dataset.pending.split(" ").filter(Boolean);
  if (!pending.length) return;
  const error = document.getElementById("statements-error");

  async function poll() {
    try {
      for (const url of pending) {
        const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
        const payload = await response.json();
        if (!response.ok) throw new Error(payload.detail || payload.title || response.statusText);
        if (payload.status !== "queued" && payload.status !== "running") {
          window.location.reload();
          return;
        }
      }
      error.hidden = true;
    } catch (e) {
      error.textContent = "The statements' status could not be loaded: " + e.message;
      error.hidden = false;
    }
    setTimeout(poll, 2000);
  }
  setTimeout(poll, 2000);
})();
