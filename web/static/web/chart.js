// The chart page: fetches the instrument's bars from the bars API and draws candles, volume,
// SMA 20 and EMA 50 with lightweight-charts; the legend follows the crosshair. Times are
// shifted to IST (the library draws UTC), so the axis reads as the exchange's clock.
"use strict";
(function () {
  const box = document.getElementById("chart");
  if (!box || !window.LightweightCharts) return;
  const legend = document.getElementById("chart-legend");
  const error = document.getElementById("chart-error");
  const IST = 330 * 60;
  const rupees = new Intl.NumberFormat("en-IN", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const daily = box.dataset.interval === "1d";

  function sma(values, n) {
    const out = []; let sum = 0;
    values.forEach((v, i) => { sum += v.value; if (i >= n) sum -= values[i - n].value; if (i >= n - 1) out.push({ time: v.time, value: sum / n }); });
    return out;
  }
  function ema(values, n) {
    const out = []; const k = 2 / (n + 1); let e = null;
    values.forEach((v, i) => { e = e === null ? v.value : v.value * k + e * (1 - k); if (i >= n - 1) out.push({ time: v.time, value: e }); });
    return out;
  }

  async function draw() {
    try {
      const response = await fetch(box.dataset.source, { credentials: "same-origin", headers: { Accept: "application/json" } });
      const payload = await response.json();
      if (!response.ok) throw new Error(payload.detail || payload.title || response.statusText);
      if (!payload.bars.length) throw new Error("no bars in this range yet");
      const candles = [], volumes = [], closes = [];
      for (const [start, o, h, l, c, v] of payload.bars) {
        const time = daily ? start.slice(0, 10) : Math.floor(Date.parse(start) / 1000) + IST;
        const open = Number(o), close = Number(c);
        candles.push({ time, open, high: Number(h), low: Number(l), close });
        volumes.push({ time, value: v, color: close >= open ? "rgba(17,99,41,0.45)" : "rgba(164,14,38,0.45)" });
        closes.push({ time, value: close });
      }
      const chart = LightweightCharts.createChart(box, {
        autoSize: true, layout: { background: { color: "#ffffff" }, textColor: "#1b1f24" },
        timeScale: { timeVisible: !daily, secondsVisible: false }, crosshair: { mode: 0 },
        localization: { priceFormatter: (p) => rupees.format(p) },
      });
      const series = chart.addCandlestickSeries({ upColor: "#116329", downColor: "#a40e26", wickUpColor: "#116329", wickDownColor: "#a40e26", borderVisible: false });
      series.setData(candles);
      const volume = chart.addHistogramSeries({ priceFormat: { type: "volume" }, priceScaleId: "volume" });
      chart.priceScale("volume").applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
      volume.setData(volumes);
      chart.addLineSeries({ color: "#d97706", lineWidth: 1, priceLineVisible: false, lastValueVisible: false }).setData(sma(closes, 20));
      chart.addLineSeries({ color: "#7c3aed", lineWidth: 1, priceLineVisible: false, lastValueVisible: false }).setData(ema(closes, 50));
      chart.timeScale().fitContent();
      const show = (bar) => {
        legend.textContent = bar ? `O ${rupees.format(bar.open)}  H ${rupees.format(bar.high)}  L ${rupees.format(bar.low)}  C ${rupees.format(bar.close)}` : "";
      };
      show(candles[candles.length - 1]);
      chart.subscribeCrosshairMove((param) => show(param.seriesData && param.seriesData.get(series) || candles[candles.length - 1]));
      box.dataset.drawn = String(candles.length);
    } catch (e) {
      error.textContent = "The chart could not be drawn: " + e.message;
      error.hidden = false;
    }
  }
  draw();
})();
