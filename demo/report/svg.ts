/**
 * Inline SVG for the report: scene drawings (shapes and detector boxes) and line charts. Output is plain
 * SVG markup with no external references.
 *
 * @module
 */
import type { Scene } from "../scenes/scene.ts";
import { CANVAS } from "../scenes/scene.ts";

/** Escape text for HTML/SVG content and attribute values. */
export function esc(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );
}

const f1 = (x: number) => Number(x.toFixed(1));

function hex(rgb: readonly number[]): string {
  return "#" +
    rgb.map((c) => Math.round(Math.min(1, Math.max(0, c)) * 255).toString(16).padStart(2, "0")).join("");
}

/** A detector box to overlay: pixel coordinates and confidence. */
export interface DrawnBox {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  conf: number;
}

/**
 * A scene drawn at `width` pixels (aspect kept): the shapes in their colours and, when given, the
 * detector's boxes (confident ones dashed and dark, the rest faint in proportion to their confidence).
 */
export function sceneSvg(scene: Scene, opts: { width?: number; boxes?: readonly DrawnBox[] } = {}): string {
  const width = opts.width ?? 320;
  const k = width / CANVAS.width, height = CANVAS.height * k;
  const parts: string[] = [
    `<svg class="scene" width="${f1(width)}" height="${f1(height)}" ` +
    `viewBox="0 0 ${CANVAS.width} ${CANVAS.height}" role="img" aria-label="scene ${scene.id}">`,
    `<rect width="${CANVAS.width}" height="${CANVAS.height}" fill="#f4f1ea"/>`,
  ];
  for (const o of scene.objects) {
    const fill = hex(o.rgb), cx = f1(o.cx), cy = f1(o.cy), r = f1(o.r);
    const title = `<title>${esc(`${o.size} ${o.colour} ${o.shape}`)}</title>`;
    if (o.shape === "circle") {
      parts.push(`<circle cx="${cx}" cy="${cy}" r="${r}" fill="${fill}">${title}</circle>`);
    } else if (o.shape === "square") {
      parts.push(
        `<rect x="${f1(o.cx - o.r)}" y="${f1(o.cy - o.r)}" width="${f1(2 * o.r)}" height="${f1(2 * o.r)}" ` +
          `fill="${fill}">${title}</rect>`,
      );
    } else {
      const pts = [[o.cx, o.cy - o.r], [o.cx - o.r, o.cy + o.r], [o.cx + o.r, o.cy + o.r]];
      parts.push(
        `<polygon points="${
          pts.map(([x, y]) => `${f1(x!)},${f1(y!)}`).join(" ")
        }" fill="${fill}">${title}</polygon>`,
      );
    }
  }
  for (const b of opts.boxes ?? []) {
    const strong = b.conf >= 0.5;
    const style = strong
      ? `stroke="#222" stroke-width="2" stroke-dasharray="6 4" fill="none"`
      : `stroke="#555" stroke-width="1" fill="none" stroke-opacity="${
        f1(Math.min(0.6, b.conf * 2)).toString()
      }"`;
    parts.push(
      `<rect class="${strong ? "det" : "clutter"}" x="${f1(b.x1)}" y="${f1(b.y1)}" width="${
        f1(b.x2 - b.x1)
      }" ` +
        `height="${f1(b.y2 - b.y1)}" ${style}/>`,
    );
  }
  parts.push("</svg>");
  return parts.join("");
}

/** One line of a chart. */
export interface Series {
  name: string;
  points: readonly (readonly [number, number])[];
  colour?: string;
  /** Draw faint (e.g. raw values under a smoothed line). */
  faint?: boolean;
}

/** A chart: title, axis labels and series. */
export interface Chart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly Series[];
  /** Logarithmic y axis (for losses that fall by orders of magnitude); non-positive values are dropped. */
  logY?: boolean;
}

const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf"];

/** Round tick positions (1, 2, 5 × 10^k) covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, target = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / target, mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) {
    out.push(Number(t.toPrecision(12)));
  }
  return out;
}

/** A line chart as inline SVG (axes, ticks, one polyline per series, a legend). */
export function lineChart(chart: Chart, opts: { width?: number; height?: number } = {}): string {
  const W = opts.width ?? 460, H = opts.height ?? 260;
  const m = { l: 56, r: 14, t: 28, b: 42 };
  const ty = (y: number) => (chart.logY ? (y > 0 ? Math.log10(y) : NaN) : y);
  const finite = (p: readonly [number, number]) => Number.isFinite(p[0]) && Number.isFinite(ty(p[1]));
  const pts = chart.series.flatMap((s) => s.points).filter(finite).map(([x, y]) => [x, ty(y)] as const);
  const parts = [
    `<svg class="chart" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ` +
    `role="img" aria-label="${esc(chart.title)}">`,
    `<text x="${W / 2}" y="17" text-anchor="middle" class="chart-title">${esc(chart.title)}</text>`,
  ];
  if (pts.length === 0) {
    parts.push(`<text x="${W / 2}" y="${H / 2}" text-anchor="middle">no data</text></svg>`);
    return parts.join("");
  }
  let [x0, x1] = [Math.min(...pts.map((p) => p[0])), Math.max(...pts.map((p) => p[0]))];
  let [y0, y1] = [Math.min(...pts.map((p) => p[1])), Math.max(...pts.map((p) => p[1]))];
  if (x1 === x0) [x0, x1] = [x0 - 1, x1 + 1];
  if (y1 === y0) [y0, y1] = [y0 - 1, y1 + 1];
  const pad = (y1 - y0) * 0.05;
  [y0, y1] = [y0 - pad, y1 + pad];
  const sx = (x: number) => m.l + ((x - x0) / (x1 - x0)) * (W - m.l - m.r);
  const sy = (y: number) => H - m.b - ((ty(y) - y0) / (y1 - y0)) * (H - m.t - m.b);
  parts.push(
    `<rect x="${m.l}" y="${m.t}" width="${W - m.l - m.r}" height="${
      H - m.t - m.b
    }" fill="#fff" stroke="#999"/>`,
  );
  const yTicks = chart.logY ? logTicks(y0, y1) : niceTicks(y0, y1);
  for (const t of yTicks) {
    parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${f1(sy(t))}" y2="${f1(sy(t))}" stroke="#eee"/>`);
    parts.push(
      `<text x="${m.l - 5}" y="${f1(sy(t) + 4)}" text-anchor="end" class="tick">${fmtTick(t)}</text>`,
    );
  }
  for (const t of niceTicks(x0, x1)) {
    parts.push(
      `<text x="${f1(sx(t))}" y="${H - m.b + 15}" text-anchor="middle" class="tick">${fmtTick(t)}</text>`,
    );
  }
  parts.push(
    `<text x="${(m.l + W - m.r) / 2}" y="${H - 6}" text-anchor="middle" class="axis">${
      esc(chart.xLabel)
    }</text>`,
  );
  parts.push(
    `<text transform="translate(13 ${(m.t + H - m.b) / 2}) rotate(-90)" text-anchor="middle" class="axis">` +
      `${esc(chart.yLabel)}</text>`,
  );
  // legend: top right, or bottom right when data lies under the top-right box
  const named = chart.series.filter((s) => !s.faint).length;
  const boxX = W - m.r - 124, boxH = 14 * named + 4;
  const under = (top: number) =>
    chart.series.some((s) =>
      s.points.filter(finite).some(([x, y]) => sx(x) >= boxX && sy(y) >= top && sy(y) <= top + boxH)
    );
  let legendY = (under(m.t) ? H - m.b - boxH : m.t) + 14;
  chart.series.forEach((s, i) => {
    const colour = s.colour ?? PALETTE[i % PALETTE.length]!;
    const ok = s.points.filter(finite);
    const d = ok.map(([x, y]) => `${f1(sx(x))},${f1(sy(y))}`).join(" ");
    const width = s.faint ? 1 : 2;
    parts.push(
      `<polyline class="series" data-name="${esc(s.name)}" points="${d}" fill="none" stroke="${colour}" ` +
        `stroke-width="${width}"${s.faint ? ' stroke-opacity="0.35"' : ""}/>`,
    );
    if (ok.length <= 40 && !s.faint) {
      for (const [x, y] of ok) {
        parts.push(`<circle cx="${f1(sx(x))}" cy="${f1(sy(y))}" r="2.5" fill="${colour}"/>`);
      }
    }
    if (!s.faint) {
      parts.push(
        `<line x1="${W - m.r - 120}" x2="${W - m.r - 104}" y1="${legendY - 4}" y2="${
          legendY - 4
        }" stroke="${colour}" stroke-width="2"/>`,
      );
      parts.push(`<text x="${W - m.r - 100}" y="${legendY}" class="legend">${esc(s.name)}</text>`);
      legendY += 14;
    }
  });
  parts.push("</svg>");
  return parts.join("");
}

/** Ticks of a log axis spanning log10 values [lo, hi]: powers of ten, plus 2× and 5× within 2 decades. */
export function logTicks(lo: number, hi: number): number[] {
  const steps = hi - lo > 2 ? [1] : [1, 2, 5];
  const out: number[] = [];
  for (let k = Math.floor(lo); k <= Math.ceil(hi); k++) {
    for (const m of steps) {
      const v = m * 10 ** k, l = Math.log10(v);
      if (l >= lo && l <= hi) out.push(Number(v.toPrecision(6)));
    }
  }
  return out;
}

function fmtTick(t: number): string {
  const a = Math.abs(t);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return t.toExponential(0);
  return String(Number(t.toPrecision(4)));
}

/** Exponential moving average (bias-corrected), for smoothing noisy loss curves. */
export function smooth(points: readonly (readonly [number, number])[], alpha = 0.1): [number, number][] {
  let avg = 0, w = 0;
  return points.map(([x, y]) => {
    avg = (1 - alpha) * avg + alpha * y;
    w = (1 - alpha) * w + alpha;
    return [x, avg / w];
  });
}
