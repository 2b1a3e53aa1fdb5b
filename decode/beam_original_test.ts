/**
 * Beam search against the ORIGINAL code on a fake model: decode/testdata/beam_cases.json holds what VLP's
 * `beam_search` returned (chosen sequence, every step's words and back-pointers) with its transformer
 * replaced by hashed logits (see testdata/make_beam_cases.py); the same logits are recomputed here.
 */
import assert from "node:assert/strict";
import { beamSearch, padSequences } from "./search.ts";
import { FakeScorer } from "./test_utils.ts";

interface Case {
  seed: number;
  beam_size: number;
  length_penalty: number;
  min_len: number | null;
  forbid_duplicate_ngrams: boolean;
  ngram_size: number;
  forbid_ignore: number[];
  eos_boost: number[];
  pred_seq: number[][];
  wids: number[][][];
  ptrs: number[][][];
}
const data: { B: number; A: number; T: number; V: number; eos: number; cases: Case[] } = JSON.parse(
  await Deno.readTextFile(new URL("./testdata/beam_cases.json", import.meta.url)),
);

function mix32(x: number): number {
  x = (x ^ (x >>> 16)) >>> 0;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x = (x ^ (x >>> 15)) >>> 0;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/** The generator's logit of word w after `history` for `image` (a 2^-20 grid value in [-8, 8)). */
function logit(seed: number, image: number, history: readonly number[], w: number): number {
  let x = seed >>> 0;
  for (const t of [image, ...history, w]) x = mix32((x ^ ((t + 0x9e3779b9) >>> 0)) >>> 0);
  return (x >>> 8) / 2 ** 20 - 8;
}

for (const [i, c] of data.cases.entries()) {
  const what = `W ${c.beam_size}, lp ${c.length_penalty}, min_len ${c.min_len}, ` +
    `${
      c.forbid_duplicate_ngrams ? `${c.ngram_size}-gram blocking, ignore [${c.forbid_ignore}]` : "no blocking"
    }`;
  Deno.test(`beam search equals the original's on fake logits: case ${i} (${what})`, async () => {
    const fn = (image: number, h: readonly number[]) => {
      const row = Float32Array.from({ length: data.V }, (_, w) => logit(c.seed, image, h, w));
      if (h.length < c.eos_boost.length) row[data.eos] += c.eos_boost[h.length];
      return row;
    };
    const opts = {
      width: c.beam_size,
      eosId: data.eos,
      lengthPenalty: c.length_penalty,
      minLen: c.min_len,
      forbidDuplicateNgrams: c.forbid_duplicate_ngrams,
      ngramSize: c.ngram_size,
      forbidIgnoreIds: c.forbid_ignore,
    };
    const full = await beamSearch(new FakeScorer(data.B, data.V, data.T, fn), { ...opts, stopEarly: false });
    const L = data.A + data.T;
    assert.deepEqual([...padSequences(full.hypotheses.map((h) => h.tokens), L)], c.pred_seq.flat());
    for (let b = 0; b < data.B; b++) {
      for (let t = 0; t < data.T; t++) {
        const W = c.beam_size, row = (a: Int32Array) => [...a.subarray(b * W, (b + 1) * W)];
        assert.deepEqual(row(full.state.stepTokens[t]), c.wids[b][t], `image ${b} step ${t} words`);
        assert.deepEqual(row(full.state.stepPointers[t]), c.ptrs[b][t], `image ${b} step ${t} pointers`);
      }
    }
    const early = await beamSearch(new FakeScorer(data.B, data.V, data.T, fn), opts);
    assert.deepEqual(early.hypotheses, full.hypotheses);
  });
}
