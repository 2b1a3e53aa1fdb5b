/**
 * Caption evaluation on hostile inputs: how time and memory grow with the length of one caption, with one
 * huge word, with thousands of references, and with texts built to make a longest-match tokenizer or a
 * rewriting loop quadratic. Every case runs in its own subprocess (so its peak resident memory is its own)
 * under a watchdog that kills it past `--max-rss-mb` or `--timeout-s`; such a case is reported as killed.
 *
 * Stages timed per case: PTB tokenization of the candidate and references, BLEU, ROUGE-L, CIDEr-D and
 * METEOR_noparaphrase (tables loaded before the clock starts), on one image whose references come from
 * `../shared/fixtures/metrics/cap_fakecap126.refs.json`.
 *
 * `deno run -A bench/eval_hostile_bench.ts [--cases NAME...] [--max_rss_mb 4000] [--timeout_s 300] [--record]`
 * Ends with one JSON line of the figures on stdout; progress goes to stderr.
 *
 * @module
 */
import { z } from "zod";
import { type Command, integer, startCommand } from "@vlp/command";
import { fixturePath } from "@vlp/testing";
import { bleu, ciderD, cookCorpus, loadMeteorResources, Meteor, ptbTokenize, rouge } from "@vlp/eval";
import { ptbScanner } from "../eval/ptb/ptb_tokenizer.ts";
import { RECORD_USAGE, recordFlag, reportFigures } from "./record.ts";

/** One hostile input: the candidate caption and the references of its image. */
interface HostileCase {
  candidate: string;
  refs: string[];
}

const refsFile: Record<string, string[]> = JSON.parse(
  Deno.readTextFileSync(fixturePath("fixtures/metrics/cap_fakecap126.refs.json")),
);
const images = Object.values(refsFile);
const REFS = images[0];
const CAPTION = REFS[0];

/** The caption of the image repeated until it has at least `n` words. */
function repeated(n: number): string {
  const words = CAPTION.split(" ");
  const out: string[] = [];
  while (out.length < n) out.push(...words);
  return out.join(" ");
}

/** The cases by name. */
const CASES: Record<string, () => HostileCase> = {
  words_1k: () => ({ candidate: repeated(1_000), refs: REFS }),
  words_5k: () => ({ candidate: repeated(5_000), refs: REFS }),
  words_20k: () => ({ candidate: repeated(20_000), refs: REFS }),
  words_100k: () => ({ candidate: repeated(100_000), refs: REFS }),
  // One 1-MB word of alternating "ay" (every y follows a vowel: the stemmer's worst case).
  one_word_1mb: () => ({ candidate: "ay".repeat(500_000), refs: REFS }),
  // A normal caption against 10,000 references (those of all 126 images, repeated).
  refs_10k: () => ({
    candidate: CAPTION,
    refs: Array.from(
      { length: 10_000 },
      (_, i) => images[i % images.length][Math.floor(i / images.length) % 5],
    ),
  }),
  // 1 MB that keeps the tokenizer's e-mail rule alive to the end of the text from every letter.
  commas_1mb: () => ({ candidate: "a,".repeat(500_000), refs: REFS }),
  // 1 MB of "<!a": the SGML rule runs to the end of the line from every "<".
  sgml_1mb: () => ({ candidate: "<!a".repeat(333_333), refs: REFS }),
  // A URL token of 200,000 dots: Meteor's multi-dot rewriting loop.
  url_dots_200k: () => ({ candidate: `see http://${".".repeat(200_000)}x now`, refs: REFS }),
  // Thousands of repeated words on both sides: 4.5 million candidate matches, over METEOR's limit.
  both_long_3k: () => ({ candidate: "a ".repeat(3000), refs: ["a ".repeat(1500) + "dog"] }),
};

/** Peak resident set size of this process in MB (Linux `VmHWM`). */
function peakRssMb(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync("/proc/self/status"));
  return m ? Math.round(Number(m[1]) / 1024) : -1;
}

/** Runs one case in this process and prints its figures as one JSON line. */
async function runCase(name: string): Promise<void> {
  const meteorRes = await loadMeteorResources(fixturePath("data/meteor"));
  const c = CASES[name]();
  const times: Record<string, number | string> = {};
  const time = <T>(stage: string, f: () => T): T => {
    const t0 = performance.now();
    const r = f();
    times[stage] = Number(((performance.now() - t0) / 1000).toFixed(3));
    console.error(`${name}: ${stage} ${times[stage]} s`);
    return r;
  };
  const [tokCand] = time("ptb_s", () => ptbTokenize([c.candidate]));
  const tokRefs = [time("ptb_refs_s", () => ptbTokenize(c.refs))];
  const cooked = cookCorpus([tokCand], tokRefs);
  const b = time("bleu_s", () => bleu([tokCand], tokRefs, cooked));
  const r = time("rouge_s", () => rouge([tokCand], tokRefs));
  const d = time("cider_s", () => ciderD([tokCand], tokRefs, { cooked }));
  const meteor = new Meteor(meteorRes);
  let meteorScore: number | null = null;
  const t0 = performance.now();
  try {
    meteorScore = meteor.score([tokCand], tokRefs).score;
  } catch (e) {
    times.meteor_error = (e as Error).message; // the candidate limit
  }
  times.meteor_s = Number(((performance.now() - t0) / 1000).toFixed(3));
  console.log(JSON.stringify({
    case: name,
    candidate_chars: c.candidate.length,
    candidate_words: tokCand.split(" ").length,
    references: c.refs.length,
    ...times,
    peak_rss_mb: peakRssMb(),
    ptb_dfa_steps_per_char: Number(
      (ptbScanner().scanned / (c.candidate.length + c.refs.join("").length)).toFixed(2),
    ),
    meteor_candidates: meteor.aligner.counters.work,
    meteor_paths_scored: meteor.aligner.counters.scored,
    meteor_paths_built: meteor.aligner.counters.built,
    Bleu_4: b.score[3],
    ROUGE_L: r.score,
    CIDEr: d.score,
    METEOR_noparaphrase: meteorScore,
  }));
}

/** Runs one case in a subprocess under the watchdog. */
async function spawnCase(name: string, maxRssMb: number, timeoutS: number): Promise<Record<string, unknown>> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", import.meta.filename!, "--case", name],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const t0 = performance.now();
  let killed: string | null = null, maxSeen = 0;
  const poll = setInterval(() => {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${child.pid}/status`));
      const mb = m ? Number(m[1]) / 1024 : 0;
      maxSeen = Math.max(maxSeen, mb);
      if (mb > maxRssMb) killed = `resident memory over ${maxRssMb} MB`;
      else if (performance.now() - t0 > timeoutS * 1000) killed = `still running after ${timeoutS} s`;
      if (killed !== null) child.kill("SIGKILL");
    } catch { /* the process has ended */ }
  }, 50);
  const out = await child.output();
  clearInterval(poll);
  const wall = Number(((performance.now() - t0) / 1000).toFixed(2));
  if (killed !== null || !out.success) {
    return {
      case: name,
      killed: killed ?? `exit ${out.code}`,
      wall_s: wall,
      rss_seen_mb: Math.round(maxSeen),
    };
  }
  const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
  return { ...JSON.parse(lines[lines.length - 1]), wall_s: wall };
}

const NAMES = Object.keys(CASES) as [string, ...string[]];
const Flags = z.object({
  cases: z.array(z.enum(NAMES)).default(NAMES),
  case: z.enum(NAMES).optional(),
  max_rss_mb: integer(1).default(4000),
  timeout_s: integer(1).default(300),
  ...recordFlag,
});
const CMD: Command<z.infer<typeof Flags>> = {
  name: "eval_hostile_bench",
  usage:
    `Usage: deno run -A bench/eval_hostile_bench.ts [--cases NAME...] [--max_rss_mb MB] [--timeout_s S] [--record]
  --cases NAME...  only these cases (default all): ${NAMES.join(", ")}
  --max_rss_mb MB  kill a case whose resident memory passes MB (default 4000)
  --timeout_s S    kill a case still running after S seconds (default 300)
  --case NAME      run one case in this process (what each subprocess is given)
${RECORD_USAGE}`,
  flags: Flags,
};
const flags = startCommand(CMD);
if (flags.case !== undefined) {
  await runCase(flags.case);
} else {
  const results = [];
  for (const n of flags.cases) {
    const r = await spawnCase(n, flags.max_rss_mb, flags.timeout_s);
    console.error(JSON.stringify(r));
    results.push(r);
  }
  await reportFigures(import.meta.url, { bench: "eval_hostile", cases: results }, flags.record);
}
