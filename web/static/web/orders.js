// Order book: polls the orders API every two seconds and updates each row's status and
// filled quantity; when an order stops working (filled, cancelled, rejected) the page is
// reloaded, so its modify and cancel controls go.
"use strict";
(function () {
  const table = document.getElementById("orders");
  if (!table) return;
  const error = document.getElementById("orders-error");
  const WORKING = new Set(["AMO", "ACCEPTED", "OPEN", "TRIGGER_PENDING", "PARTIALLY_FILLED", "CANCEL_PENDING", "MODIFY_PENDING"]);

  async function poll() {
    try {
      const response = await fetch(table.dataset.source, { credentials: "same-origin", headers: { Accept: "application/json" } });
      const payload = await response.json();
      if (!response.ok) throw new Error(payload.detail || payload.title || response.statusText);
      let reload = false;
      for (const order of payload.results) {
        const row = table.querySelector(`tr[data-id="${order.order_id}"]`);
        if (!row) continue;
        const status = row.querySelector("td.status");
        const before = status.firstChild ? status.firstChild.textContent : "";
        if (before !== order.status) {
          if (WORKING.has(before) && !WORKING.has(order.status)) reload = true;
          status.firstChild.textContent = order.status;
          status.classList.add("flash-up");
        }
        row.querySelector(".filled").textContent = order.filled_quantity;
      }
      error.hidden = true;
      if (reload) window.location.reload();
    } catch (e) {
      error.textContent = "Orders could not be refreshed: " + e.message;
      error.hidden = false;
    }
  }
  setInterval(poll, 2000);
})();
