// Watchlist: polls the quotes API once a second and updates each row in place; a price
// that moved flashes green (up) or red (down); D (or the row's D button) opens the row's
// market depth, 5 levels a side, filled from the same full quote. An API error shows its
// problem+json detail.
"use strict";
(function () {
  const table = document.getElementById("watch");
  if (!table) return;
  const updated = document.getElementById("watch-updated");
  const error = document.getElementById("watch-error");
  const rupees = new Intl.NumberFormat("en-IN", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const whole = new Intl.NumberFormat("en-IN");
  const last = {};

  function set(row, name, text, cls) {
    const cell = row.querySelector("td." + name);
    cell.textContent = text;
    cell.classList.remove("up", "down");
    if (cls) cell.classList.add(cls);
    return cell;
  }

  function flash(cell, cls) {
    cell.classList.remove("flash-up", "flash-down");
    void cell.offsetWidth; // restart the animation
    cell.classList.add(cls);
  }

  const rows = Array.from(table.tBodies[0].rows).filter((row) => row.dataset.key);

  function depthOf(row) {
    return document.getElementById(row.querySelector("button.depth-toggle").getAttribute("aria-controls"));
  }

  function drawDepth(row, depth) {
    const shown = depthOf(row);
    if (shown.hidden) return;
    const lines = shown.querySelectorAll("table.depth > tbody > tr");
    const total = { buy: 0, sell: 0 };
    lines.forEach((line, level) => {
      const cells = line.cells;
      [["buy", 0], ["sell", 3]].forEach(([side, at]) => {
        const x = depth[side][level];
        cells[at].textContent = x ? rupees.format(Number(x.price)) : "";
        cells[at + 1].textContent = x && x.orders !== null ? whole.format(x.orders) : "";
        cells[at + 2].textContent = x ? whole.format(x.quantity) : "";
        if (x) total[side] += x.quantity;
      });
    });
    shown.querySelector(".total-buy").textContent = whole.format(total.buy);
    shown.querySelector(".total-sell").textContent = whole.format(total.sell);
  }

  function toggleDepth(row) {
    const button = row.querySelector("button.depth-toggle");
    const shown = depthOf(row);
    shown.hidden = !shown.hidden;
    button.setAttribute("aria-expanded", String(!shown.hidden));
    if (!shown.hidden) poll();
  }

  function draw(data) {
    for (const row of rows) {
      const q = data[row.dataset.key];
      if (!q) continue;
      const price = Number(q.last_price);
      const change = Number(q.net_change);
      const close = Number(q.ohlc.close);
      const sign = change > 0 ? "up" : change < 0 ? "down" : "";
      const ltp = set(row, "ltp", rupees.format(price), sign);
      set(row, "change", (change > 0 ? "+" : "") + rupees.format(change), sign);
      set(row, "pct", close ? (change > 0 ? "+" : "") + (change / close * 100).toFixed(2) + "%" : "–", sign);
      set(row, "bid", rupees.format(Number(q.depth.buy[0].price)));
      set(row, "ask", rupees.format(Number(q.depth.sell[0].price)));
      set(row, "volume", whole.format(q.volume));
      drawDepth(row, q.depth);
      const before = last[row.dataset.key];
      if (before !== undefined && price !== before) flash(ltp, price > before ? "flash-up" : "flash-down");
      last[row.dataset.key] = price;
    }
  }

  async function poll() {
    try {
      const response = await fetch(table.dataset.source, { credentials: "same-origin", headers: { Accept: "application/json" } });
      const payload = await response.json();
      if (!response.ok) throw new Error(payload.detail || payload.title || response.statusText);
      draw(payload.data);
      updated.textContent = new Date().toLocaleTimeString("en-IN", { timeZone: "Asia/Kolkata" }) + " IST";
      error.hidden = true;
    } catch (e) {
      error.textContent = "Quotes could not be loaded: " + e.message;
      error.hidden = false;
    }
  }
  // B and S open the ticket for the row under the pointer (or focused), as on Kite.
  let pointed = null;
  for (const row of rows) {
    row.addEventListener("mouseenter", () => { pointed = row; });
    row.addEventListener("focus", () => { pointed = row; });
    row.querySelector("button.depth-toggle").addEventListener("click", () => toggleDepth(row));
  }
  document.addEventListener("keydown", (event) => {
    if (event.target.closest("input, select, textarea") || event.ctrlKey || event.metaKey || event.altKey) return;
    const key = event.key.toUpperCase();
    if ((key === "B" || key === "S") && pointed) {
      event.preventDefault();
      window.location.assign(pointed.querySelector(key === "B" ? "a.buy" : "a.sell").href);
    } else if (key === "D" && pointed) {
      event.preventDefault();
      toggleDepth(pointed);
    }
  });

  poll();
  setInterval(poll, 1000);
})();
