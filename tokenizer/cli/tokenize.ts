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
import { isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { z } from "zod";
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
  vocab: z.string().min(1, "--vocab needs a file name").optional(),
  cased: z.boolean().default(false),
  help: z.boolean().default(false),
});

/** Parses and validates the command line; exits with status 2 and a message on bad input. */
function parseFlags(args: string[]): z.infer<typeof Flags> {
  try {
    const { values } = parseArgs({
      args,
      options: {
        vocab: { type: "string" },
        cased: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    });
    return Flags.parse(values);
  } catch (e) {
    const msg = e instanceof z.ZodError ? e.issues.map((i) => i.message).join("; ") : (e as Error).message;
    console.error(`tokenize: ${msg}\n${USAGE}`);
    Deno.exit(2);
  }
}

/** The vocabulary path: the flag (relative to the directory the user ran the task from) or the default. */
function vocabPath(flag: string | undefined): string {
  if (flag !== undefined) {
    return isAbsolute(flag) ? flag : resolve(Deno.env.get("INIT_CWD") ?? Deno.cwd(), flag);
  }
  if (existsSync(DEFAULT_VOCAB)) return DEFAULT_VOCAB;
  console.error(
    `tokenize: no --vocab given and the default vocabulary ../shared/data/bert-base-uncased-vocab.txt ` +
      `(beside the repository root) does not exist; pass --vocab FILE\n${USAGE}`,
  );
  Deno.exit(2);
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

async function main(): Promise<void> {
  const flags = parseFlags(Deno.args);
  if (flags.help) {
    console.log(USAGE);
    return;
  }
  const path = vocabPath(flags.vocab);
  let tokenizer: BertTokenizer;
  try {
    tokenizer = await BertTokenizer.fromFile(path, { lowerCase: !flags.cased });
  } catch (e) {
    console.error(`tokenize: cannot load the vocabulary "${path}": ${(e as Error).message}`);
    Deno.exit(1);
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

if (import.meta.main) await main();
