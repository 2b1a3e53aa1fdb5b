/**
 * Gather a demo run's outputs (scene ground truth, test captions and answers of both models, training
 * logs, detector boxes) into {@linkcode ReportData} and write `report/index.html`.
 *
 * @module
 */
import { join } from "node:path";
import { writeTextAtomic } from "@vlp/io";
import { RegionReader } from "@vlp/features";
import { ciderD, ptbTokenize, questionAccuracy } from "@vlp/eval";
import { epochMetrics, type LogRecord, readTrainLog } from "@vlp/train";
import { answerAccuracy, blindAnswers, blindCaption } from "../baselines.ts";
import { TARGETS } from "../config.ts";
import type { DemoRun } from "../pipeline.ts";
import { countLines } from "../scenes/files.ts";
import { SCENE_FILES, type SceneRecord } from "../scenes/make_scenes.ts";
import { renderReport, type ReportData, type Sample } from "./html.ts";
import { type Chart, type DrawnBox, type Series, smooth } from "./svg.ts";

/** The loss curve of a log (batch loss by optimiser step: raw faint, smoothed bold). */
export function lossChart(title: string, records: readonly LogRecord[]): Chart {
  const pts = records.filter((r) => r.type === "batch" && typeof r.loss === "number")
    .map((r, i) =>
      [typeof r.optimizer_step === "number" ? r.optimizer_step : i + 1, r.loss as number] as const
    );
  const series: Series[] = [
    { name: "batch loss", points: pts, faint: true, colour: "#1f77b4" },
    { name: "smoothed", points: smooth(pts, 0.05), colour: "#1f77b4" },
  ];
  return { title, xLabel: "optimizer step", yLabel: "loss", series, logY: true };
}

/** Validation metrics by epoch: every numeric non-bookkeeping field of the epoch records. */
export function metricSeries(records: readonly LogRecord[], prefix: string): Series[] {
  const byName = new Map<string, [number, number][]>();
  for (const r of records.filter((r) => r.type === "epoch")) {
    for (const [k, v] of Object.entries(epochMetrics(r))) {
      if (!byName.has(k)) byName.set(k, []);
      byName.get(k)!.push([r.epoch, v]);
    }
  }
  return [...byName].map(([k, pts]) => ({ name: `${prefix} ${k}`, points: pts }));
}

/** A metric value with 4 significant digits. */
function fmt(x: number): string {
  return Number(x.toPrecision(4)).toString();
}

/** Everything the report needs beyond the run's figures. */
export interface ReportInputs {
  run: DemoRun;
  /** How many test scenes to show (default 6). */
  samples?: number;
}

/** Build the report data of a finished run. */
export async function reportData(inp: ReportInputs): Promise<ReportData> {
  const { run } = inp;
  const scenes = JSON.parse(await Deno.readTextFile(join(run.files.scenes, SCENE_FILES.scenes))) as {
    images: SceneRecord[];
  };
  const records = scenes.images;
  const test = records.filter((r) => r.split === "test");
  const captionsOf = async (p: string) =>
    new Map(
      (JSON.parse(await Deno.readTextFile(p)) as { image_id: number; caption: string }[]).map((
        c,
      ) => [c.image_id, c.caption]),
    );
  const answersOf = async (p: string) =>
    new Map(
      (JSON.parse(await Deno.readTextFile(p)) as { question_id: number; answer: string }[]).map((
        a,
      ) => [a.question_id, a.answer]),
    );
  const [capT, capU] = [
    await captionsOf(run.files.captions.trained),
    await captionsOf(run.files.captions.untrained),
  ];
  const [ansT, ansU] = [
    await answersOf(run.files.answers.trained),
    await answersOf(run.files.answers.untrained),
  ];

  // blind baselines (no image): the best fixed caption (chosen on val), the question-type answer prior
  const caption = blindCaption(records);
  const blindCider =
    ciderD(test.map(() => ptbTokenize([caption])[0]!), test.map((r) => ptbTokenize(r.captions))).score;
  const blindVqa = answerAccuracy(records, "test", blindAnswers(records));

  // samples with the detector's boxes
  const reader = RegionReader.open({
    dataset: "coco",
    imageRoot: join(run.files.scenes, SCENE_FILES.imageRoot),
  });
  const samples: Sample[] = [];
  try {
    for (const r of test.slice(0, inp.samples ?? 6)) {
      const bbox = await reader.readPart("bbox", r.file.slice(0, -4));
      const b = bbox.data as Float32Array, boxes: DrawnBox[] = [];
      for (let i = 0; i < bbox.shape[0]!; i++) {
        boxes.push({
          x1: b[i * 6]!,
          y1: b[i * 6 + 1]!,
          x2: b[i * 6 + 2]!,
          y2: b[i * 6 + 3]!,
          conf: b[i * 6 + 5]!,
        });
      }
      samples.push({
        scene: r,
        file: r.file,
        references: r.captions,
        generated: capT.get(r.id) ?? "(missing)",
        untrained: capU.get(r.id),
        boxes,
        questions: r.questions.map((q) => {
          const p = ansT.get(q.questionId) ?? "(missing)", u = ansU.get(q.questionId);
          return {
            question: q.question,
            humanAnswers: q.answers,
            predicted: p,
            accuracy: questionAccuracy(p, q.answers),
            untrained: u,
            untrainedAccuracy: u === undefined ? undefined : questionAccuracy(u, q.answers),
          };
        }),
      });
    }
  } finally {
    reader.close();
  }

  const answerCount = await countLines(join(run.files.scenes, SCENE_FILES.answers));
  const [pre, cap, vqa] = [
    await readTrainLog(run.files.logs.pretrain),
    await readTrainLog(run.files.logs.caption),
    await readTrainLog(run.files.logs.vqa),
  ];
  const charts: Chart[] = [
    lossChart("pre-training loss (masked LM, s2s 0.75 / bi 0.25)", pre),
    lossChart("caption fine-tuning loss (masked LM, s2s)", cap),
    lossChart(`VQA fine-tuning loss (BCE × ${answerCount} answers)`, vqa),
  ];
  // validation metrics per epoch: a chart from two epochs on, a note for a single epoch
  const single: string[] = [];
  for (
    const [title, series] of [
      ["caption validation (greedy)", metricSeries(cap, "val")],
      ["VQA validation", metricSeries(vqa, "val")],
    ] as const
  ) {
    if (series.some((s) => s.points.length > 1)) {
      charts.push({ title, xLabel: "epoch", yLabel: "score", series: [...series] });
    } else if (series.length) {
      single.push(
        `${title} after its one epoch: ${series.map((s) => `${s.name} ${fmt(s.points[0]![1])}`).join(", ")}`,
      );
    }
  }

  const m = run.manifest;
  const notes = [
    `Synthetic scenes: ${m.images} images (train ${m.splits.train}, val ${m.splits.val}, test ${m.splits.test}), ` +
    `${m.captions} captions, ${m.questions.train + m.questions.val + m.questions.test} questions; ` +
    `100 regions per image from a simulated detector (fixed random projection of the objects' attributes, ` +
    `with noise), written in VLP's COCO formats.`,
    `Blind baselines (no image): the best fixed caption, chosen on val ("${caption}"), scores CIDEr-D ` +
    `${blindCider.toFixed(3)} on test; answering with the most frequent training answer of the question's ` +
    `wording scores ${
      blindVqa.toFixed(2)
    }% VQA accuracy. Captions of a tiny closed world share many words, so ` +
    `a fixed caption already scores well; the trained model has to beat these, not just the untrained one.`,
    `The WordPiece vocabulary is the scenes' own (${await countLines(
      join(run.files.scenes, SCENE_FILES.vocab),
    )} ` +
    `tokens, BERT's special ids kept) and the model is tiny (see the configuration): this demonstrates the ` +
    `pipeline, it is not COCO.`,
  ];
  if (single.length) notes.push(`${single.join("; ")}.`);
  if (run.parallel) {
    notes.push(
      `The caption branch (fine-tuning, both decodes) and the VQA branch (fine-tuning, both evaluations) ran ` +
        `at the same time, with one BLAS thread each: their commands' seconds overlap.`,
    );
  }
  if (run.trained.unavailable.METEOR || run.trained.unavailable.METEOR_noparaphrase) {
    notes.push(`METEOR: ${run.trained.unavailable.METEOR ?? run.trained.unavailable.METEOR_noparaphrase}`);
  }
  return {
    title: `VLP demo report (${run.config.name})`,
    createdAt: new Date().toISOString(),
    seconds: run.seconds,
    trained: run.trained,
    untrained: run.untrained,
    targets: { CIDEr: TARGETS.CIDEr, vqa_accuracy: TARGETS.vqa_accuracy },
    samples,
    charts,
    stages: run.runs.map((r) => ({ name: r.task, command: r.command, seconds: r.seconds })),
    config: {
      demo: run.config,
      backend: run.backend,
      scenes_reused: run.scenesReused,
      fine_tunings_in_parallel: run.parallel,
      cpu_cores: navigator.hardwareConcurrency,
    },
    notes,
    blind: { CIDEr: blindCider, vqa: blindVqa, caption },
  };
}

/** Write the report of `data` to `<dir>/report/index.html` (atomically); returns its path. */
export async function writeReport(dir: string, data: ReportData): Promise<string> {
  await Deno.mkdir(join(dir, "report"), { recursive: true });
  const path = join(dir, "report", "index.html");
  await writeTextAtomic(path, renderReport(data));
  return path;
}
