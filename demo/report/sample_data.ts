/**
 * A report filled with real generated scenes and made-up scores, for the rendering and browser tests (the
 * demo's own run fills the report with measured values).
 *
 * @module
 */
import { Rng } from "@vlp/model/rng";
import { SceneDetector } from "../scenes/detector.ts";
import { sceneRecord } from "../scenes/make_scenes.ts";
import type { ReportData } from "./html.ts";
import type { DrawnBox } from "./svg.ts";

/** Report data for tests: four real scenes, invented metrics and curves (labelled as such). */
export function sampleReportData(): ReportData {
  const det = new SceneDetector({ dtype: "float32" });
  const samples = [1, 2, 3, 4].map((id) => {
    const rec = sceneRecord(9, id, 4);
    const bbox = det.detect(rec, new Rng(id)).bbox.data as Float32Array;
    const boxes: DrawnBox[] = [];
    for (let i = 0; i < 100; i++) {
      const [x1, y1, x2, y2, , conf] = bbox.subarray(i * 6, i * 6 + 6);
      boxes.push({ x1: x1!, y1: y1!, x2: x2!, y2: y2!, conf: conf! });
    }
    return {
      scene: rec,
      file: rec.file,
      references: rec.captions,
      generated: rec.captions[0]!,
      untrained: "a a a a",
      boxes,
      questions: rec.questions.map((q, k) => ({
        question: q.question,
        humanAnswers: q.answers,
        predicted: k % 2 ? q.answer : "no",
        accuracy: k % 2 ? 1 : 0,
        untrained: "yes",
        untrainedAccuracy: 0,
      })),
    };
  });
  const rng = new Rng(1);
  const loss = Array.from({ length: 200 }, (_, i) => [i, 5 * Math.exp(-i / 50) + 0.3 * rng.float()] as const);
  return {
    title: "VLP demo report (test data)",
    createdAt: "2024-01-01T00:00:00Z",
    seconds: 123.4,
    trained: {
      captions: { Bleu_1: 0.8, Bleu_2: 0.7, Bleu_3: 0.6, Bleu_4: 0.5, ROUGE_L: 0.7, CIDEr: 1.5 },
      unavailable: { METEOR: "the WordNet tables are missing (test data)", SPICE: "needs Java" },
      vqa: { overall: 75.5, perAnswerType: { "yes/no": 90, number: 60, other: 70 } },
    },
    untrained: {
      captions: { Bleu_1: 0.01, Bleu_2: 0, Bleu_3: 0, Bleu_4: 0, ROUGE_L: 0.05, CIDEr: 0.01 },
      unavailable: {},
      vqa: { overall: 10, perAnswerType: { "yes/no": 20, number: 0, other: 5 } },
    },
    targets: { CIDEr: 1, vqa_accuracy: 70 },
    blind: { CIDEr: 0.9, vqa: 40, caption: "a red circle" },
    samples,
    charts: [
      {
        title: "pre-training loss",
        xLabel: "step",
        yLabel: "loss",
        series: [{ name: "loss", points: loss }],
      },
      {
        title: "validation",
        xLabel: "epoch",
        yLabel: "score",
        series: [{ name: "CIDEr", points: [[1, 0.2], [2, 0.8], [3, 1.2]] }],
      },
    ],
    stages: [{ name: "make-scenes", command: "deno task make-scenes --out x <y>", seconds: 3.2 }],
    config: { hidden_size: 64, note: "<escaped>" },
    notes: ["test data, not a measurement"],
  };
}
