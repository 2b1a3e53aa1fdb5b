/**
 * Tokenizes stdin line by line: `deno task tokenize [--vocab FILE] [--cased]`.
 *
 * Writes one JSON object per input line to stdout, `{"tokens": [...], "ids": [...]}` (an empty line gives
 * empty arrays). Without `--cased` the text is lowercased and accent-stripped (uncased vocabularies); with
 * it, case and accents are kept, as VLP does with bert-base-cased. Since stdout carries the records, the
 * closing JSON line of figures (`lines`, `tokens`, `seconds`, `lines_per_s`) goes to stderr.
 *
 * @module
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { type Command, startCommand, UsageError, userPath } from "@vlp/command";
import { BertTokenizer } from "@vlp/tokenizer";

const USAGE = `Usage: deno task tokenize [--vocab FILE] [--cased]
Reads lines on stdin, writes one JSON object {"tokens": [...], "ids": [...]} per line to stdout.
  --vocab FILE  WordPiece vocabulary (one token per line); default ../shared/data/bert-base-uncased-vocab.txt
                relative to the repository root, when it exists
  --cased       keep case and accents (do_lower_case=false, as VLP); default: lowercase (uncased)
  --help        show this text`;

/** The default vocabulary: `../shared/data/bert-base-uncased-vocab.txt` beside the repository root. */
const DEFAULT_VOCAB = fileURLToPath(
  new URL("../../../shared/data/bert-base-uncased-vocab.txt", import.meta.url),
);

const Flags = z.object({
  vocab: z.string().min(1, "needs a file name").optional(),
  cased: z.boolean().default(false),
});
type Flags = z.infer<typeof Flags>;

const CMD: Command<Flags> = { name: "tokenize", usage: USAGE, flags: Flags };

/** The vocabulary path: the flag (relative to the directory the user ran the task from) or the default. */
function vocabPath(flag: string | undefined): string {
  if (flag !== undefined) return userPath(flag);
  if (existsSync(DEFAULT_VOCAB)) return DEFAULT_VOCAB;
  throw new UsageError(
    "no --vocab given and the default vocabulary ../shared/data/bert-base-uncased-vocab.txt " +
      "(beside the repository root) does not exist; pass --vocab FILE",
    "--vocab",
  );
}

/** Yields the lines of a byte stream (without their "\n"; a final line without one is yielded too). */
async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  let rest = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    const parts = (rest + chunk).split("\n");
    rest = parts.pop()!;
    yield* parts;
  }
  if (rest !== "") yield rest;
}

async function main(flags: Flags): Promise<void> {
  const path = vocabPath(flags.vocab);
  let tokenizer: BertTokenizer;
  try {
    tokenizer = await BertTokenizer.fromFile(path, { lowerCase: !flags.cased });
  } catch (e) {
    throw new Error(`cannot load the vocabulary "${path}": ${(e as Error).message}`);
  }
  const t0 = performance.now();
  const out = Deno.stdout.writable.getWriter();
  const encoder = new TextEncoder();
  let buf = "", n = 0, tokens = 0;
  try {
    for await (const line of lines(Deno.stdin.readable)) {
      const enc = tokenizer.encode(line);
      buf += `{"tokens":${JSON.stringify(enc.tokens)},"ids":[${enc.ids.join(",")}]}\n`;
      n++;
      tokens += enc.ids.length;
      if (buf.length > 1 << 16) {
        await out.write(encoder.encode(buf));
        buf = "";
      }
      if (n % 100000 === 0) console.error(`tokenize: ${n} lines`);
    }
    if (buf !== "") await out.write(encoder.encode(buf));
    await out.close();
  } catch (e) {
    if (!(e instanceof Deno.errors.BrokenPipe)) throw e; // the reader went away (e.g. `| head`): stop quietly
  }
  const seconds = (performance.now() - t0) / 1000;
  console.error(
    JSON.stringify({ lines: n, tokens, seconds: +seconds.toFixed(3), lines_per_s: Math.round(n / seconds) }),
  );
}

if (import.meta.main) await main(startCommand(CMD));
