// Routing page: draws spend per mode per day as stacked bars (inline SVG, no library).
import { formatMoney } from "../juggernaut/money.js";

(function () {
  "use strict";
  const SVG = "http://www.w3.org/2000/svg";
  const source = document.getElementById("routing-chart-data");
  const holder = document.getElementById("spend-chart");
  const legend = document.getElementById("spend-legend");
  if (!source || !holder) return;
  const data = JSON.parse(source.textContent);

  function el(name, attrs, text) {
    const node = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // Axis labels are computed (fractions of the tallest bar): rounded to three places first.
  function money(value) {
    return formatMoney(typeof value === "number" ? value.toFixed(12) : value);
  }

  // A sum of the decimal texts, exact to the ledger's 12 places (no float drift).
  function total(values) {
    let micro = 0n;
    for (const value of values) {
      const [whole, fraction = ""] = String(value).split(".");
      micro += BigInt(whole + fraction.padEnd(12, "0").slice(0, 12));
    }
    const text = micro.toString().padStart(13, "0");
    return text.slice(0, -12) + "." + text.slice(-12);
  }

  const width = 760, height = 220, left = 56, right = 8, top = 10, bottom = 26;
  const days = data.days;
  const modes = data.modes;
  const totals = days.map((_, i) => modes.reduce((sum, m) => sum + Number(data.series[m.mode][i]), 0));
  const max = Math.max(...totals, 0);
  const svg = el("svg", { viewBox: `0 0 ${width} ${height}`, role: "img" });
  svg.appendChild(el("title", {}, `Spend per mode per day, ${days[0]} to ${days[days.length - 1]}`));
  const plotHeight = height - top - bottom;
  const slot = (width - left - right) / days.length;
  const scale = max > 0 ? plotHeight / max : 0;

  // Nothing spent yet: one axis at $0 and a word, not three gridlines all labelled $0.
  for (const fraction of max > 0 ? [0, 0.5, 1] : [0]) {
    const y = top + plotHeight - fraction * plotHeight;
    svg.appendChild(el("line", { class: fraction === 0 ? "axis" : "grid", x1: left, x2: width - right, y1: y, y2: y }));
    svg.appendChild(el("text", { x: left - 6, y: y + 4, "text-anchor": "end" }, money(max * fraction)));
  }
  if (max === 0) {
    svg.appendChild(el("text", { class: "empty", x: (left + width - right) / 2, y: top + plotHeight / 2, "text-anchor": "middle" }, "Nothing spent in these days"));
  }

  days.forEach((day, i) => {
    let y = top + plotHeight;
    const x = left + i * slot + slot * 0.15;
    for (const mode of modes) {
      const value = Number(data.series[mode.mode][i]);
      if (value <= 0) continue;
      const h = Math.max(value * scale, 1);
      y -= h;
      const bar = el("rect", { class: "mode-" + mode.mode, x: x, y: y, width: slot * 0.7, height: h });
      bar.appendChild(el("title", {}, `${day} · ${mode.label}: ${formatMoney(data.series[mode.mode][i])}`));
      svg.appendChild(bar);
    }
    if (i % 2 === days.length % 2 || days.length <= 8) {
      svg.appendChild(el("text", { x: x + slot * 0.35, y: height - 8, "text-anchor": "middle" }, day.slice(5)));
    }
  });
  holder.replaceChildren(svg);

  if (legend) {
    legend.replaceChildren(...modes.map((mode) => {
      const item = document.createElement("span");
      const swatch = document.createElement("span");
      swatch.className = "swatch mode-" + mode.mode;
      item.append(swatch, mode.label + " " + formatMoney(total(data.series[mode.mode])));
      return item;
    }));
  }
})();
