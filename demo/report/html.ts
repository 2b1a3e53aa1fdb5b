/**
 * The demo's HTML report: one self-contained file (inline CSS and SVG, no scripts, no external URLs) with
 * the metric table (trained vs untrained), training curves, sample test scenes with their reference and
 * generated captions and questions with human and predicted answers, the commands that ran, timings and the
 * configuration.
 *
 * @module
 */
import type { Scene } from "../scenes/scene.ts";
import { type Chart, type DrawnBox, esc, lineChart, sceneSvg } from "./svg.ts";

/** Scores of one model. */
export interface MetricSet {
  /** coco-caption metrics (Bleu_1..4, METEOR_noparaphrase, ROUGE_L, CIDEr), on their 0..1 (CIDEr 0..10) scale. */
  captions: Record<string, number>;
  /** Metrics that could not be computed, with the reason. */
  unavailable: Record<string, string>;
  /** VQA accuracy in percent: overall and per answer type. */
  vqa: { overall: number; perAnswerType: Record<string, number> };
}

/** One question of a sample. */
export interface SampleQuestion {
  question: string;
  humanAnswers: string[];
  predicted: string;
  /** VQA accuracy of the prediction (0..1). */
  accuracy: number;
  untrained?: string;
  untrainedAccuracy?: number;
}

/** One test scene shown in the report. */
export interface Sample {
  scene: Scene;
  file: string;
  references: string[];
  generated: string;
  untrained?: string;
  boxes?: DrawnBox[];
  questions: SampleQuestion[];
}

/** One command of the run. */
export interface Stage {
  name: string;
  command: string;
  seconds: number;
}

/** Everything the report shows. */
export interface ReportData {
  title: string;
  createdAt: string;
  seconds: number;
  trained: MetricSet;
  untrained: MetricSet;
  targets: { CIDEr: number; vqa_accuracy: number };
  /** Scores of models that never look at the image (see `demo/baselines.ts`). */
  blind?: { CIDEr: number; vqa: number; caption: string };
  samples: Sample[];
  charts: Chart[];
  stages: Stage[];
  config: Record<string, unknown>;
  notes: string[];
}

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222;background:#fafafa}
main{max-width:1180px;margin:0 auto;padding:20px}
h1{font-size:24px;margin:0 0 4px} h2{font-size:18px;margin:28px 0 10px;border-bottom:1px solid #ddd;padding-bottom:4px}
.sub{color:#666;margin:0 0 12px}
table{border-collapse:collapse;background:#fff} th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f0f0f0} td.num{text-align:right;font-variant-numeric:tabular-nums}
.good{color:#1a7f37;font-weight:600} .bad{color:#b42318}
.charts{display:flex;flex-wrap:wrap;gap:12px} .chart{background:#fff;border:1px solid #ddd}
.chart-title{font-weight:600;font-size:13px} .tick,.legend{font-size:11px;fill:#444} .axis{font-size:12px;fill:#333}
.samples{display:grid;grid-template-columns:repeat(auto-fill,minmax(540px,1fr));gap:14px}
.sample{background:#fff;border:1px solid #ddd;padding:10px;display:flex;flex-direction:column;gap:8px}
.sample .top{display:flex;gap:10px} .scene{flex:none;border:1px solid #ccc}
.caps{margin:0;padding-left:18px} .gen{font-weight:600} .untrained{color:#888}
.qa td{font-size:13px} code,pre{font:12px/1.4 ui-monospace,Menlo,Consolas,monospace} pre{background:#fff;border:1px solid #ddd;padding:8px;overflow:auto}
.note{color:#555}
`;

const CAPTION_ROWS: [string, string][] = [
  ["Bleu_1", "BLEU-1"],
  ["Bleu_2", "BLEU-2"],
  ["Bleu_3", "BLEU-3"],
  ["Bleu_4", "BLEU-4"],
  ["METEOR_noparaphrase", "METEOR (no paraphrase)"],
  ["ROUGE_L", "ROUGE-L"],
  ["CIDEr", "CIDEr-D"],
];

function num(x: number | undefined, digits = 3): string {
  return x === undefined || !Number.isFinite(x) ? "—" : x.toFixed(digits);
}

function row(
  label: string,
  untrained: number | undefined,
  blind: number | undefined,
  trained: number | undefined,
  target: number | undefined,
  digits: number,
): string {
  const cls = target === undefined ? "" : trained !== undefined && trained >= target ? "good" : "bad";
  return `<tr><td>${label}</td><td class="num">${num(untrained, digits)}</td>` +
    `<td class="num">${blind === undefined ? "" : num(blind, digits)}</td>` +
    `<td class="num ${cls}">${num(trained, digits)}</td><td class="num">${
      target === undefined ? "" : `≥ ${target}`
    }</td></tr>`;
}

function metricTable(d: ReportData): string {
  const rows: string[] = [];
  const unavailable = (label: string, why: string) =>
    `<tr><td>${label}</td><td colspan="4" class="note">unavailable: ${esc(why)}</td></tr>`;
  for (const [key, label] of CAPTION_ROWS) {
    const why = d.trained.unavailable[key] ?? d.trained.unavailable[key.replace("_noparaphrase", "")];
    if (why && d.trained.captions[key] === undefined) {
      rows.push(unavailable(label, why));
      continue;
    }
    const isCider = key === "CIDEr";
    rows.push(
      row(
        label,
        d.untrained.captions[key],
        isCider ? d.blind?.CIDEr : undefined,
        d.trained.captions[key],
        isCider ? d.targets.CIDEr : undefined,
        3,
      ),
    );
  }
  rows.push(
    row(
      "VQA accuracy (%)",
      d.untrained.vqa.overall,
      d.blind?.vqa,
      d.trained.vqa.overall,
      d.targets.vqa_accuracy,
      2,
    ),
  );
  const types = [
    ...new Set([...Object.keys(d.trained.vqa.perAnswerType), ...Object.keys(d.untrained.vqa.perAnswerType)]),
  ];
  for (const t of types.sort()) {
    rows.push(
      row(
        `&nbsp;&nbsp;${esc(t)}`,
        d.untrained.vqa.perAnswerType[t],
        undefined,
        d.trained.vqa.perAnswerType[t],
        undefined,
        2,
      ),
    );
  }
  const extra = Object.entries(d.trained.unavailable).filter(([k]) =>
    !CAPTION_ROWS.some(([c]) => c.startsWith(k))
  );
  for (const [k, why] of extra) rows.push(unavailable(esc(k), why));
  return `<table id="metrics"><thead><tr><th>metric (test split)</th><th>untrained</th>` +
    `<th>blind (no image)</th><th>trained</th><th>target</th></tr></thead><tbody>${
      rows.join("")
    }</tbody></table>`;
}

function sampleCard(s: Sample): string {
  const refs = s.references.map((r) => `<li>${esc(r)}</li>`).join("");
  const qa = s.questions.map((q) => {
    const counts = new Map<string, number>();
    for (const a of q.humanAnswers) counts.set(a, (counts.get(a) ?? 0) + 1);
    const human = [...counts].sort((a, b) => b[1] - a[1]).map(([a, c]) => `${esc(a)}×${c}`).join(", ");
    const mark = (acc: number | undefined) =>
      acc === undefined ? "" : acc >= 0.999 ? "good" : acc > 0 ? "" : "bad";
    return `<tr><td>${esc(q.question)}</td><td>${human}</td>` +
      `<td class="pred ${mark(q.accuracy)}">${esc(q.predicted)}</td>` +
      `<td class="untrained">${q.untrained === undefined ? "" : esc(q.untrained)}</td></tr>`;
  }).join("");
  return `<div class="sample" data-image="${esc(s.file)}">
<div class="top">${sceneSvg(s.scene, { width: 240, boxes: s.boxes })}
<div><div><b>${esc(s.file)}</b></div>
<div>generated: <span class="gen caption">${esc(s.generated)}</span></div>
${s.untrained === undefined ? "" : `<div class="untrained">untrained: ${esc(s.untrained)}</div>`}
<div>references:</div><ol class="caps refs">${refs}</ol></div></div>
<table class="qa"><thead><tr><th>question</th><th>human answers</th><th>predicted</th><th>untrained</th></tr></thead>
<tbody>${qa}</tbody></table></div>`;
}

/** The report as one HTML document. */
export function renderReport(d: ReportData): string {
  const stages = d.stages.map((s) =>
    `<tr><td>${esc(s.name)}</td><td class="num">${s.seconds.toFixed(1)}</td><td><code>${
      esc(s.command)
    }</code></td></tr>`
  ).join("");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(d.title)}</title><style>${CSS}</style></head>
<body><main>
<h1>${esc(d.title)}</h1>
<p class="sub">${esc(d.createdAt)} · total ${d.seconds.toFixed(1)} s · held-out test scenes</p>
<h2>Metrics</h2>
${metricTable(d)}
<h2>Training curves</h2>
<div class="charts">${d.charts.map((c) => lineChart(c)).join("")}</div>
<h2>Sample test scenes</h2>
<p class="note">Dashed boxes: the detector's confident regions; faint boxes: low-confidence clutter regions (100 per image in all).</p>
<div class="samples">${d.samples.map(sampleCard).join("\n")}</div>
<h2>Commands and timings</h2>
<table id="stages"><thead><tr><th>stage</th><th>seconds</th><th>command</th></tr></thead><tbody>${stages}</tbody></table>
<h2>Configuration</h2>
<pre id="config">${esc(JSON.stringify(d.config, null, 2))}</pre>
${
    d.notes.length
      ? `<h2>Notes</h2><ul class="note">${d.notes.map((n) => `<li>${esc(n)}</li>`).join("")}</ul>`
      : ""
  }
</main></body></html>
`;
}
