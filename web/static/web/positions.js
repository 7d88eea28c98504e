// Positions and holdings: every second, the positions API (realized, unrealized and net P&L
// at the last price) and the quotes API (holdings' LTP and day change); green up, red down.
"use strict";
(function () {
  const rupees = new Intl.NumberFormat("en-IN", { style: "currency", currency: "INR", minimumFractionDigits: 2 });
  const error = document.getElementById("positions-error");

  function show(cell, value) {
    cell.textContent = rupees.format(value);
    cell.classList.remove("up", "down");
    if (value > 0) cell.classList.add("up");
    if (value < 0) cell.classList.add("down");
  }

  async function json(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    const payload = await response.json();
    if (!response.ok) throw new Error(payload.detail || payload.title || response.statusText);
    return payload;
  }

  async function positions(table) {
    const rows = await json(table.dataset.source);
    let total = 0, totalNet = 0;
    for (const p of rows) {
      const row = table.querySelector(`tr[data-key="${p.instrument}"][data-product="${p.product}"]`);
      if (!row) continue;
      row.querySelector("td.ltp").textContent = p.last_price === null ? "–" : rupees.format(Number(p.last_price));
      show(row.querySelector("td.pnl"), Number(p.pnl));
      show(row.querySelector("td.pnl-net"), Number(p.pnl_net));
      total += Number(p.pnl);
      totalNet += Number(p.pnl_net);
    }
    show(document.getElementById("total-pnl"), total);
    show(document.getElementById("total-pnl-net"), totalNet);
    document.getElementById("positions-updated").textContent =
      new Date().toLocaleTimeString("en-IN", { timeZone: "Asia/Kolkata" }) + " IST";
  }

  async function holdings(table) {
    const quotes = (await json(table.dataset.source)).data;
    for (const row of table.tBodies[0].rows) {
      const q = quotes[row.dataset.key];
      if (!q) continue;
      const ltp = Number(q.last_price), quantity = Number(row.dataset.quantity);
      row.querySelector("td.ltp").textContent = rupees.format(ltp);
      show(row.querySelector("td.pnl"), (ltp - Number(row.dataset.average)) * quantity);
      show(row.querySelector("td.day"), (ltp - Number(q.ohlc.close)) * quantity);
    }
  }

  async function day(table) {
    const quotes = (await json(table.dataset.source)).data;
    for (const row of table.tBodies[0].rows) {
      const q = quotes[row.dataset.key];
      if (!q) continue;
      const pnl = Number(row.dataset.sold) - Number(row.dataset.bought) + Number(row.dataset.net) * Number(q.last_price);
      show(row.querySelector("td.pnl"), pnl);
      show(row.querySelector("td.pnl-net"), pnl - Number(row.dataset.charges));
    }
  }

  async function poll() {
    try {
      const p = document.getElementById("positions"), h = document.getElementById("holdings");
      const d = document.getElementById("day");
      await Promise.all([p && positions(p), h && holdings(h), d && day(d)]);
      error.hidden = true;
    } catch (e) {
      error.textContent = "Positions could not be refreshed: " + e.message;
      error.hidden = false;
    }
  }
  // Today's P&L curve, redrawn every ten seconds.
  const curveBox = document.getElementById("pnl-curve");
  let curve = null;
  async function drawCurve() {
    if (!curveBox || !window.LightweightCharts) return;
    const payload = await json(curveBox.dataset.source);
    document.getElementById("pnl-empty").hidden = payload.points.length > 0;
    if (!curve) {
      const chart = LightweightCharts.createChart(curveBox, {
        autoSize: true, layout: { background: { color: "#ffffff" }, textColor: "#1b1f24" },
        timeScale: { timeVisible: true, secondsVisible: false },
      });
      curve = {
        gross: chart.addLineSeries({ color: "#0b5cad", lineWidth: 2 }),
        net: chart.addLineSeries({ color: "#a40e26", lineWidth: 1 }),
        chart,
      };
    }
    const at = (p) => Math.floor(Date.parse(p.time) / 1000) + 330 * 60; // drawn in IST
    curve.gross.setData(payload.points.map((p) => ({ time: at(p), value: Number(p.gross) })));
    curve.net.setData(payload.points.map((p) => ({ time: at(p), value: Number(p.net) })));
    curve.chart.timeScale().fitContent();
    curveBox.dataset.points = String(payload.points.length);
  }

  poll();
  setInterval(poll, 1000);
  drawCurve().catch((e) => { error.textContent = "The P&L curve could not be drawn: " + e.message; error.hidden = false; });
  setInterval(() => drawCurve().catch(() => {}), 10000);
})();
