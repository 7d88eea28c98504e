// A backtest run's equity and drawdown, from the equity API, drawn with lightweight-charts.
"use strict";
(function () {
  const equityBox = document.getElementById("equity");
  if (!equityBox || !window.LightweightCharts) return;
  const error = document.getElementById("backtest-error");
  const IST = 330 * 60;

  async function draw() {
    try {
      const response = await fetch(equityBox.dataset.source, { credentials: "same-origin", headers: { Accept: "application/json" } });
      const payload = await response.json();
      if (!response.ok) throw new Error(payload.detail || payload.title || response.statusText);
      const daily = payload.dates.length && payload.dates[0].length === 10;
      const time = (d) => daily ? d : Math.floor(Date.parse(d) / 1000) + IST;
      const options = { autoSize: true, layout: { background: { color: "#ffffff" }, textColor: "#1b1f24" }, timeScale: { timeVisible: !daily } };
      const equity = LightweightCharts.createChart(equityBox, options);
      equity.addLineSeries({ color: "#0b5cad", lineWidth: 2 }).setData(payload.dates.map((d, i) => ({ time: time(d), value: payload.equity[i] })));
      equity.timeScale().fitContent();
      const drawdown = LightweightCharts.createChart(document.getElementById("drawdown"), options);
      drawdown.addAreaSeries({ lineColor: "#a40e26", topColor: "rgba(164,14,38,0.05)", bottomColor: "rgba(164,14,38,0.35)", invertFilledArea: true })
        .setData(payload.dates.map((d, i) => ({ time: time(d), value: payload.drawdown[i] })));
      drawdown.timeScale().fitContent();
      equityBox.dataset.drawn = String(payload.dates.length);
    } catch (e) {
      error.textContent = "The chart could not be drawn: " + e.message;
      error.hidden = false;
    }
  }
  draw();
})();
