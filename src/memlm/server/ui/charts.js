/* memlm inspector: charts drawn as inline SVG (no chart library). Each chart has a text
 * alternative: an aria-label summary and the numbers in a table under a <details>. */
"use strict";

const KIND_COLORS = {episode: "#2d6fb5", fact: "#c9701c", summary: "#3c9a5f"};
const SVG_NS = "http://www.w3.org/2000/svg";

function svgEl(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs || {})) el.setAttribute(name, String(value));
  for (const child of children) el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return el;
}

/* An integer step for about four grid lines up to value, and the axis top (a multiple of it). */
function niceScale(value) {
  const rough = Math.max(1, value / 4);
  const p = Math.pow(10, Math.floor(Math.log10(rough)));
  const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= rough);
  return {step, max: Math.max(step, Math.ceil(value / step) * step)};
}

function dataTable(caption, headers, rows) {
  return h("details", {class: "chart-data"}, h("summary", {}, "Show the numbers"),
    h("table", {}, h("caption", {}, caption),
      h("thead", {}, h("tr", {}, headers.map((x) => h("th", {scope: "col"}, x)))),
      h("tbody", {}, rows.map((r) => h("tr", {}, r.map((x, i) => i === 0 ? h("th", {scope: "row"}, x) : h("td", {}, x)))))));
}

/* Memories over time per kind: stacked bars, one per period ({period, episode, fact, summary}). */
function timelineChart(periods, kinds, title) {
  const width = 720, height = 220, left = 44, bottom = 36, top = 10, right = 10;
  const plotW = width - left - right, plotH = height - top - bottom;
  const totals = periods.map((p) => kinds.reduce((s, k) => s + (p[k] || 0), 0));
  const {step: tick, max} = niceScale(Math.max(0, ...totals));
  const total = totals.reduce((a, b) => a + b, 0);
  const label = title + ": " + total + " memories over " + periods.length + " periods" +
    (periods.length ? ", from " + periods[0].period + " to " + periods[periods.length - 1].period : "");
  const svg = svgEl("svg", {viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label, class: "chart"});
  svg.append(svgEl("title", {}, label));
  for (let v = 0; v <= max; v += tick) {
    const y = top + plotH - (plotH * v) / max;
    svg.append(svgEl("line", {x1: left, x2: width - right, y1: y, y2: y, class: "grid"}));
    svg.append(svgEl("text", {x: left - 6, y: y + 4, "text-anchor": "end", class: "axis"}, String(v)));
  }
  const step = plotW / Math.max(1, periods.length);
  const barW = Math.max(1, Math.min(40, step * 0.8));
  const every = Math.max(1, Math.ceil(periods.length / 8));
  periods.forEach((p, i) => {
    let y = top + plotH;
    const x = left + i * step + (step - barW) / 2;
    for (const k of kinds) {
      const n = p[k] || 0;
      if (!n) continue;
      const hgt = (plotH * n) / max;
      y -= hgt;
      const rect = svgEl("rect", {x: x.toFixed(1), y: y.toFixed(1), width: barW.toFixed(1), height: hgt.toFixed(1),
                                  fill: KIND_COLORS[k], class: "bar bar-" + k});
      rect.append(svgEl("title", {}, `${p.period}: ${n} ${k}${n === 1 ? "" : "s"}`));
      svg.append(rect);
    }
    if (i % every === 0) {
      svg.append(svgEl("text", {x: (x + barW / 2).toFixed(1), y: height - bottom + 16, "text-anchor": "middle", class: "axis"}, p.period));
    }
  });
  const legend = h("ul", {class: "legend"}, kinds.map((k) =>
    h("li", {}, h("span", {class: "swatch swatch-" + k, "aria-hidden": "true"}), k)));
  return h("figure", {class: "chart-box"}, h("figcaption", {}, title), svg, legend,
    dataTable(title, ["period", ...kinds, "total"], periods.map((p, i) => [p.period, ...kinds.map((k) => p[k] || 0), totals[i]])));
}

/* A search's score distribution: a histogram of the hits' scores in [0, 1] (ten bins). */
function scoreHistogram(scores, title) {
  const bins = 10, width = 360, height = 160, left = 30, bottom = 28, top = 8, right = 8;
  const plotW = width - left - right, plotH = height - top - bottom;
  const counts = new Array(bins).fill(0);
  for (const s of scores) counts[Math.min(bins - 1, Math.max(0, Math.floor(s * bins)))] += 1;
  const {max} = niceScale(Math.max(0, ...counts));
  const label = `${title}: ${scores.length} hits` + (scores.length ?
    `, scores from ${Math.min(...scores).toFixed(2)} to ${Math.max(...scores).toFixed(2)}` : "");
  const svg = svgEl("svg", {viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": label, class: "chart small"});
  svg.append(svgEl("title", {}, label));
  svg.append(svgEl("line", {x1: left, x2: width - right, y1: top + plotH, y2: top + plotH, class: "grid"}));
  svg.append(svgEl("text", {x: left - 4, y: top + 8, "text-anchor": "end", class: "axis"}, String(max)));
  const barW = plotW / bins;
  counts.forEach((n, i) => {
    const hgt = (plotH * n) / max;
    const rect = svgEl("rect", {x: (left + i * barW + 1).toFixed(1), y: (top + plotH - hgt).toFixed(1),
                                width: (barW - 2).toFixed(1), height: hgt.toFixed(1), class: "bar bar-score"});
    rect.append(svgEl("title", {}, `${(i / bins).toFixed(1)}–${((i + 1) / bins).toFixed(1)}: ${n}`));
    svg.append(rect);
    if (i % 2 === 0) svg.append(svgEl("text", {x: left + i * barW, y: height - bottom + 14, "text-anchor": "middle", class: "axis"}, (i / bins).toFixed(1)));
  });
  svg.append(svgEl("text", {x: width - right, y: height - bottom + 14, "text-anchor": "end", class: "axis"}, "1.0"));
  return h("figure", {class: "chart-box"}, h("figcaption", {}, title), svg,
    dataTable(title, ["score", "hits"], counts.map((n, i) => [`${(i / bins).toFixed(1)}–${((i + 1) / bins).toFixed(1)}`, n])));
}

/* One small horizontal bar for a value in [-1, 1] (beyond is clipped), with its number; a
 * negative value (a penalty, e.g. context far from the query's turns) is drawn hatched. */
function bar(name, value) {
  const fill = h("span", {class: "fill fill-" + name.replace(/[^a-z0-9_-]/gi, "") + (value < 0 ? " negative" : "")});
  fill.style.width = (Math.min(1, Math.abs(value)) * 100).toFixed(1) + "%";
  return h("div", {class: "reason", "data-reason": name},
    h("span", {class: "reason-name"}, name),
    h("span", {class: "track", "aria-hidden": "true"}, fill),
    h("span", {class: "reason-value"}, value.toFixed(3)));
}
