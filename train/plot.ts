/**
 * The loss / metric plot written next to the checkpoints (`train_curve.svg`): the training loss of every
 * batch (thin) with a moving average (thick) against the batch count, and below it each validation metric
 * against the epoch. Plain SVG, no dependencies; values that are not finite are skipped.
 *
 * @example Usage
 * ```ts
 * import { lossPlotSvg } from "@vlp/train";
 * const svg = lossPlotSvg({ losses: [3, 2.5, 2.2, 2.1], batchesPerEpoch: 2, metrics: [{ epoch: 1, values: { CIDEr: 0.3 } }] });
 * console.assert(svg.startsWith("<svg"));
 * ```
 *
 * @module
 */

/** Data of {@linkcode lossPlotSvg}. */
export interface PlotData {
  /** loss of every batch, in order */
  losses: readonly number[];
  /** to mark epoch boundaries */
  batchesPerEpoch: number;
  /** validation metrics per epoch */
  metrics: readonly { epoch: number; values: Readonly<Record<string, number>> }[];
  title?: string;
}

const W = 720, PANEL = 220, M = { l: 64, r: 16, t: 28, b: 36 };
const COLORS = ["#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf"];

function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]!));
}

function niceTicks(lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo)) return [lo];
  const step0 = (hi - lo) / n, mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((f) => f * mag).find((s) => s >= step0)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-12 * Math.abs(hi); v += step) {
    out.push(Number(v.toPrecision(12)));
  }
  return out;
}

function fmt(v: number): string {
  return Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0)
    ? v.toExponential(1)
    : String(Number(v.toPrecision(4)));
}

interface Series {
  name: string;
  points: [number, number][];
  color: string;
  width: number;
  markers?: boolean;
}

function panel(
  y0: number,
  title: string,
  xLabel: string,
  series: Series[],
  vlines: number[] = [],
  integerX = false,
): string {
  const pts = series.flatMap((s) => s.points).filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  const h = PANEL - M.t - M.b, w = W - M.l - M.r;
  let out = `<text x="${M.l}" y="${y0 + 18}" font-size="13" font-weight="bold">${esc(title)}</text>`;
  if (pts.length === 0) {
    return out + `<text x="${M.l}" y="${y0 + PANEL / 2}" font-size="12" fill="#888">no data yet</text>`;
  }
  let [x0, x1] = [Math.min(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[0]))];
  let [ylo, yhi] = [Math.min(...pts.map((p) => p[1])), Math.max(...pts.map((p) => p[1]))];
  if (x1 === x0) x1 = x0 + 1;
  if (yhi === ylo) [ylo, yhi] = [ylo - 0.5, yhi + 0.5];
  const pad = 0.05 * (yhi - ylo);
  ylo -= pad;
  yhi += pad;
  const sx = (x: number) => M.l + ((x - x0) / (x1 - x0)) * w;
  const sy = (y: number) => y0 + M.t + h - ((y - ylo) / (yhi - ylo)) * h;
  out += `<rect x="${M.l}" y="${y0 + M.t}" width="${w}" height="${h}" fill="none" stroke="#ccc"/>`;
  for (const t of niceTicks(ylo, yhi)) {
    out += `<line x1="${M.l}" x2="${M.l + w}" y1="${sy(t)}" y2="${sy(t)}" stroke="#eee"/>`;
    out += `<text x="${M.l - 6}" y="${sy(t) + 4}" font-size="11" text-anchor="end">${fmt(t)}</text>`;
  }
  for (const t of niceTicks(x0, x1).filter((t) => !integerX || Number.isInteger(t))) {
    out += `<text x="${sx(t)}" y="${y0 + M.t + h + 16}" font-size="11" text-anchor="middle">${fmt(t)}</text>`;
  }
  for (const v of vlines) {
    if (v > x0 && v < x1) {
      out += `<line x1="${sx(v)}" x2="${sx(v)}" y1="${y0 + M.t}" y2="${
        y0 + M.t + h
      }" stroke="#ddd" stroke-dasharray="3,3"/>`;
    }
  }
  out += `<text x="${M.l + w / 2}" y="${y0 + PANEL - 4}" font-size="11" text-anchor="middle">${
    esc(xLabel)
  }</text>`;
  series.forEach((s, i) => {
    const p = s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
    if (p.length === 0) return;
    const d = p.map(([x, y], k) => `${k ? "L" : "M"}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join("");
    out += `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="${s.width}"/>`;
    if (s.markers) {
      for (const [x, y] of p) out += `<circle cx="${sx(x)}" cy="${sy(y)}" r="3" fill="${s.color}"/>`;
    }
    out += `<text x="${M.l + w - 4}" y="${
      y0 + M.t + 14 + 14 * i
    }" font-size="11" text-anchor="end" fill="${s.color}">${esc(s.name)}</text>`;
  });
  return out;
}

/** The SVG document of a run's losses and metrics (see the module doc). */
export function lossPlotSvg(d: PlotData): string {
  const raw: [number, number][] = d.losses.map((l, i) => [i + 1, l]);
  const k = Math.max(1, Math.round(d.losses.length / 50));
  const avg: [number, number][] = [];
  let sum = 0, n = 0;
  const window: number[] = [];
  d.losses.forEach((l, i) => {
    if (!Number.isFinite(l)) return;
    window.push(l);
    sum += l;
    n++;
    if (window.length > k) {
      sum -= window.shift()!;
      n--;
    }
    avg.push([i + 1, sum / n]);
  });
  const vlines = [];
  for (let b = d.batchesPerEpoch; b < d.losses.length; b += d.batchesPerEpoch) vlines.push(b + 0.5);
  const names = [...new Set(d.metrics.flatMap((m) => Object.keys(m.values)))];
  const metricSeries: Series[] = names.map((name, i) => ({
    name,
    points: d.metrics.filter((m) => name in m.values).map((m) =>
      [m.epoch, m.values[name]] as [number, number]
    ),
    color: COLORS[i % COLORS.length],
    width: 2,
    markers: true,
  }));
  const height = names.length ? 2 * PANEL : PANEL;
  let body = panel(0, d.title ?? "training loss", "batch", [
    { name: "loss", points: raw, color: "#9ecae1", width: 1 },
    { name: `moving average (${k})`, points: avg, color: "#1f77b4", width: 2 },
  ], vlines);
  if (names.length) body += panel(PANEL, "validation", "epoch", metricSeries, [], true);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="sans-serif">` +
    `<rect width="100%" height="100%" fill="white"/>${body}</svg>\n`;
}
