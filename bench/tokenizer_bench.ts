/**
 * Tokenizer throughput over the 25,014 real COCO val2017 captions, side by side with `@huggingface/tokenizers`
 * (a BERT tokenizer.json built offline from the same vocabulary: BertNormalizer, BertPreTokenizer, WordPiece).
 *
 * As a script (`deno run -A bench/tokenizer_bench.ts [--rounds N] [--record]`): checks that both give identical tokens
 * and ids on every caption (exit 1 otherwise), times alternating rounds of encoding all captions in uncased
 * and cased mode, prints a table and ends with one JSON line of the figures (best round of each). The
 * figures also give the speed of our general path (the one non-ASCII text takes) on the same captions.
 * Under `deno bench` it registers the same work as benchmarks.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { type Command, integer, startCommand } from "@vlp/command";
import { Tokenizer } from "@huggingface/tokenizers";
import { BertTokenizer, Vocab } from "@vlp/tokenizer";
import { RECORD_USAGE, recordFlag, reportFigures } from "./record.ts";

const Flags = z.object({ rounds: integer(1).default(7), ...recordFlag });
const CMD: Command<z.infer<typeof Flags>> = {
  name: "tokenizer_bench",
  usage: `Usage: deno run -A bench/tokenizer_bench.ts [--rounds N] [--record]
  --rounds N  timed rounds of each tokenizer (default 7; the best is reported)
${RECORD_USAGE}`,
  flags: Flags,
};

const SHARED = new URL("../../shared/", import.meta.url);
const VOCAB = fileURLToPath(new URL("data/bert-base-uncased-vocab.txt", SHARED));
const CAPTIONS = fileURLToPath(new URL("data/coco_captions_val2017.json", SHARED));

/** One tokenizer under test: encodes a caption into tokens and ids. */
interface Contender {
  name: string;
  encode(text: string): { tokens: string[]; ids: number[] };
}

/** A standard Hugging Face BERT tokenizer.json for a vocabulary, built offline. */
function hfTokenizerJson(vocab: Vocab, lowerCase: boolean): Record<string, unknown> {
  const special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: special.map((content) => ({
      id: vocab.id(content),
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: {
      type: "BertNormalizer",
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: lowerCase ? null : false,
      lowercase: lowerCase,
    },
    pre_tokenizer: { type: "BertPreTokenizer" },
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "[CLS]", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, {
        SpecialToken: { id: "[SEP]", type_id: 0 },
      }],
      pair: [
        { SpecialToken: { id: "[CLS]", type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: "[SEP]", type_id: 0 } },
        { Sequence: { id: "B", type_id: 1 } },
        { SpecialToken: { id: "[SEP]", type_id: 1 } },
      ],
      special_tokens: Object.fromEntries(
        ["[CLS]", "[SEP]"].map((t) => [t, { id: t, ids: [vocab.id(t)], tokens: [t] }]),
      ),
    },
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
    model: {
      type: "WordPiece",
      unk_token: "[UNK]",
      continuing_subword_prefix: "##",
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocab.tokens.map((t, i) => [t, i])),
    },
  };
}

/**
 * Our general path alone (basic tokenizer, then WordPiece), which non-ASCII text takes: for information, since
 * every COCO caption is ASCII and so takes the fused fast path.
 */
function generalPath(vocab: Vocab, lowerCase: boolean): Contender {
  const tok = new BertTokenizer(vocab, { lowerCase });
  return {
    name: "@vlp/tokenizer general path",
    encode(text) {
      const ids: number[] = [];
      for (const t of tok.basic.tokenize(text)) tok.wordpiece.encodeInto(t, 0, t.length, false, ids);
      return { tokens: tok.convertIdsToTokens(ids), ids };
    },
  };
}

/** Our tokenizer and Hugging Face's, in one mode. */
function contenders(vocab: Vocab, lowerCase: boolean): [Contender, Contender] {
  const ours = new BertTokenizer(vocab, { lowerCase });
  const hf = new Tokenizer(hfTokenizerJson(vocab, lowerCase), {
    tokenizer_class: "BertTokenizer",
    do_lower_case: lowerCase,
    model_max_length: 512,
  });
  return [
    { name: "@vlp/tokenizer", encode: (t) => ours.encode(t) },
    { name: "@huggingface/tokenizers", encode: (t) => hf.encode(t, { add_special_tokens: false }) },
  ];
}

function loadCaptions(): string[] {
  const json = JSON.parse(Deno.readTextFileSync(CAPTIONS)) as { annotations: { caption: string }[] };
  return json.annotations.map((a) => a.caption);
}

/** Captions on which two contenders disagree (tokens or ids), with the first few examples. */
function compare(a: Contender, b: Contender, captions: string[]): { count: number; examples: string[] } {
  let count = 0;
  const examples: string[] = [];
  for (const c of captions) {
    const x = a.encode(c), y = b.encode(c);
    if (
      JSON.stringify(x.tokens) !== JSON.stringify(y.tokens) || JSON.stringify(x.ids) !== JSON.stringify(y.ids)
    ) {
      if (++count <= 3) examples.push(`${JSON.stringify(c)}: ${x.tokens.join(" ")} vs ${y.tokens.join(" ")}`);
    }
  }
  return { count, examples };
}

/** Seconds to encode every caption once; the token count is kept so the work cannot be optimised away. */
function timeRound(c: Contender, captions: string[]): { seconds: number; tokens: number } {
  const t0 = performance.now();
  let tokens = 0;
  for (let i = 0; i < captions.length; i++) tokens += c.encode(captions[i]).ids.length;
  return { seconds: (performance.now() - t0) / 1000, tokens };
}

async function main({ rounds, record }: z.infer<typeof Flags>): Promise<void> {
  const vocab = await Vocab.load(VOCAB);
  const captions = loadCaptions();
  const figures: Record<string, number | string> = {
    captions: captions.length,
    rounds,
    runtime: `deno ${Deno.version.deno}`,
  };
  console.log(`tokenizer throughput over ${captions.length} COCO val2017 captions, best of ${rounds} rounds`);
  console.log("| mode | @vlp/tokenizer captions/s | @huggingface/tokenizers captions/s | ratio |");
  console.log("| --- | ---: | ---: | ---: |");
  let failed = false;
  for (const [mode, lowerCase] of [["uncased", true], ["cased", false]] as const) {
    const [ours, theirs] = contenders(vocab, lowerCase);
    const general = generalPath(vocab, lowerCase);
    const diff = compare(ours, theirs, captions);
    const diffGeneral = compare(general, theirs, captions);
    diff.count += diffGeneral.count;
    diff.examples.push(...diffGeneral.examples);
    figures[`${mode}_mismatches`] = diff.count;
    if (diff.count > 0) {
      failed = true;
      console.error(`${mode}: ${diff.count} captions differ, e.g.\n${diff.examples.join("\n")}`);
    }
    const best = new Map<string, number>([[ours.name, Infinity], [theirs.name, Infinity], [
      general.name,
      Infinity,
    ]]);
    let tokens = 0;
    for (let r = 0; r < rounds; r++) {
      for (const c of r % 2 === 0 ? [ours, theirs, general] : [theirs, ours, general]) { // alternate the order
        const t = timeRound(c, captions);
        best.set(c.name, Math.min(best.get(c.name)!, t.seconds));
        tokens = t.tokens;
      }
      console.error(`${mode}: round ${r + 1}/${rounds} done`);
    }
    const oursRate = captions.length / best.get(ours.name)!;
    const theirsRate = captions.length / best.get(theirs.name)!;
    figures[`${mode}_tokens`] = tokens;
    figures[`${mode}_ours_captions_per_s`] = Math.round(oursRate);
    figures[`${mode}_hf_captions_per_s`] = Math.round(theirsRate);
    figures[`${mode}_ratio`] = +(oursRate / theirsRate).toFixed(2);
    figures[`${mode}_ours_general_path_captions_per_s`] = Math.round(
      captions.length / best.get(general.name)!,
    );
    console.log(
      `| ${mode} | ${Math.round(oursRate)} | ${Math.round(theirsRate)} | ${
        (oursRate / theirsRate).toFixed(2)
      }x |`,
    );
  }
  await reportFigures(import.meta.url, figures, record && !failed);
  if (failed) Deno.exit(1);
}

if (import.meta.main) {
  await main(startCommand(CMD));
} else {
  const vocab = Vocab.loadSync(VOCAB);
  const captions = loadCaptions();
  for (const [c, baseline] of contenders(vocab, true).map((c, i) => [c, i === 1] as const)) {
    Deno.bench(
      { name: `${c.name}: encode 25k COCO captions (uncased)`, group: "tokenizer", baseline },
      () => {
        timeRound(c, captions);
      },
    );
  }
}
