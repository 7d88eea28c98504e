// Market watch: polls the quotes API once a second and redraws the table.
"use strict";
(function () {
  const table = document.getElementById("market-watch");
  if (!table) return;
  const body = table.querySelector("tbody");
  const updated = document.getElementById("watch-updated");
  const error = document.getElementById("watch-error");
  const last = {};

  function cell(text, cls) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    return td;
  }

  function draw(data) {
    body.replaceChildren();
    for (const [key, q] of Object.entries(data)) {
      const change = Number(q.net_change);
      const moved = last[key] === undefined ? "" : Number(q.last_price) > last[key] ? "tick-up" : Number(q.last_price) < last[key] ? "tick-down" : "";
      last[key] = Number(q.last_price);
      const row = document.createElement("tr");
      row.dataset.key = key;
      row.append(
        cell(key), cell(q.last_price, "num ltp " + moved), cell((change > 0 ? "+" : "") + q.net_change, "num " + (change >= 0 ? "up" : "down")),
        cell(q.depth.buy[0].price, "num"), cell(q.depth.sell[0].price, "num"), cell(q.ohlc.open, "num"),
        cell(q.ohlc.high, "num"), cell(q.ohlc.low, "num"), cell(q.ohlc.close, "num"), cell(q.volume.toLocaleString("en-IN"), "num"),
      );
      body.append(row);
    }
  }

  async function poll() {
    try {
      const response = await fetch(table.dataset.source, { credentials: "same-origin", headers: { Accept: "application/json" } });
      const payload = await response.json();
      if (!response.ok) throw new Error(payload.detail || response.statusText);
      draw(payload.data);
      updated.textContent = new Date().toLocaleTimeString("en-IN", { timeZone: "Asia/Kolkata" }) + " IST";
      error.hidden = true;
    } catch (e) {
      error.textContent = "Could not load quotes: " + e.message;
      error.hidden = false;
    }
  }
  poll();
  setInterval(poll, 1000);
})();
