import { deepEqual, equal, ok } from "node:assert/strict";
import { renderReport } from "./html.ts";
import { sampleReportData } from "./sample_data.ts";
import { esc, lineChart, logTicks, niceTicks, sceneSvg, smooth } from "./svg.ts";
import { sceneRecord } from "../scenes/make_scenes.ts";

Deno.test("esc: HTML metacharacters", () => {
  equal(esc(`<a href="x">&'`), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
});

Deno.test("niceTicks: 1/2/5 steps covering the range", () => {
  deepEqual(niceTicks(0, 10), [0, 2, 4, 6, 8, 10]);
  deepEqual(niceTicks(0.13, 0.92, 4), [0.2, 0.4, 0.6, 0.8]);
  deepEqual(niceTicks(3, 3), [3]);
});

Deno.test("smooth: bias-corrected EMA starts at the first value and follows a constant", () => {
  deepEqual(smooth([[0, 4], [1, 4], [2, 4]]).map((p) => p[1]), [4, 4, 4]);
  const s = smooth([[0, 0], [1, 10]], 0.5);
  ok(s[1]![1] > 5 && s[1]![1] < 10);
});

Deno.test("sceneSvg: one element per object, in its colour, plus the boxes", () => {
  const rec = sceneRecord(3, 7, 10);
  const svg = sceneSvg(rec, {
    boxes: [{ x1: 1, y1: 2, x2: 30, y2: 40, conf: 0.9 }, { x1: 5, y1: 5, x2: 9, y2: 9, conf: 0.1 }],
  });
  const shapes = (svg.match(/<(circle|polygon|rect) [^>]*fill="#[0-9a-f]{6}"/g) ?? []).length;
  equal(shapes, rec.objects.length + 1); // + the background rect
  equal((svg.match(/class="det"/g) ?? []).length, 1);
  equal((svg.match(/class="clutter"/g) ?? []).length, 1);
  for (const o of rec.objects) ok(svg.includes(`<title>${o.size} ${o.colour} ${o.shape}</title>`));
});

Deno.test("lineChart: a polyline per series with every finite point; empty charts say so", () => {
  const svg = lineChart({
    title: "t<1>",
    xLabel: "x",
    yLabel: "y",
    series: [{ name: "a", points: [[0, 1], [1, 2], [2, NaN], [3, 0]] }, { name: "b", points: [[0, 5]] }],
  });
  const lines = [...svg.matchAll(/<polyline[^>]*points="([^"]*)"/g)].map((m) => m[1]!.split(" ").length);
  deepEqual(lines, [3, 1]);
  ok(svg.includes("t&lt;1&gt;"));
  ok(lineChart({ title: "e", xLabel: "", yLabel: "", series: [] }).includes("no data"));
});

Deno.test("renderReport: self-contained, escaped, with the metric table, captions, charts and samples", () => {
  const d = sampleReportData();
  const html = renderReport(d);
  ok(!/https?:|src=|<script|<link|url\(/i.test(html), "no external references or scripts");
  ok(html.includes("&lt;escaped&gt;") && !html.includes("<escaped>"));
  ok(html.includes("&lt;y&gt;"));
  equal((html.match(/class="sample"/g) ?? []).length, 4);
  equal((html.match(/<svg class="chart"/g) ?? []).length, 2);
  equal((html.match(/<svg class="scene"/g) ?? []).length, 4);
  ok(html.includes(esc(d.samples[0]!.generated)));
  ok(/unavailable: the WordNet tables are missing/.test(html));
  ok(/<td class="num good">1\.500<\/td>/.test(html), "CIDEr above target is marked good");
  ok(html.includes("blind (no image)") && html.includes(">0.900<") && html.includes(">40.00<"));
  ok(/<td class="num good">75\.50<\/td>/.test(html));
  ok(html.includes("SPICE"));
});

Deno.test("lineChart: a log y axis places powers of ten and drops non-positive values", () => {
  const svg = lineChart({
    title: "loss",
    xLabel: "step",
    yLabel: "loss",
    logY: true,
    series: [{ name: "l", points: [[0, 2000], [1, 100], [2, 3], [3, 0], [4, 2]] }],
  });
  const ticks = [...svg.matchAll(/class="tick">([^<]*)</g)].map((m) => m[1]);
  for (const t of ["1", "10", "100", "1000"]) ok(ticks.includes(t), `tick ${t} in ${ticks}`);
  const pts = /<polyline[^>]*points="([^"]*)"/.exec(svg)![1]!.split(" ");
  equal(pts.length, 4);
  // 2000 is drawn 3.3 decades above 2: the y pixel gap between 100 and 3 is about the log ratio
  const ys = pts.map((p) => Number(p.split(",")[1]));
  ok(ys[0]! < ys[1]! && ys[1]! < ys[2]!);
});

Deno.test("logTicks: decades over a wide range, 1-2-5 steps over a narrow one", () => {
  deepEqual(logTicks(0.1, 3.4), [10, 100, 1000]);
  deepEqual(logTicks(0, 1), [1, 2, 5, 10]);
});

Deno.test("lineChart: the legend moves to the bottom right when the data fills the top right", () => {
  const legendY = (svg: string) => Number(/<text x="[\d.]+" y="([\d.]+)" class="legend">/.exec(svg)![1]);
  const rising = lineChart({
    title: "t",
    xLabel: "x",
    yLabel: "y",
    series: [{ name: "up", points: [[1, 0], [2, 5], [3, 10]] }],
  });
  const falling = lineChart({
    title: "t",
    xLabel: "x",
    yLabel: "y",
    series: [{ name: "down", points: [[1, 10], [2, 5], [3, 0]] }],
  });
  ok(legendY(rising) > legendY(falling) + 100, `${legendY(rising)} vs ${legendY(falling)}`);
});
