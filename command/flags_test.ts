import { deepEqual, equal, throws } from "node:assert/strict";
import { z } from "zod";
import { flagKinds, readFlags, UsageError, wantsHelp } from "./flags.ts";
import { integer, validateFlags } from "./validate.ts";

const Flags = z.object({
  vocab: z.string().min(1),
  beam_size: integer(1).default(1),
  length_penalty: z.coerce.number().default(0),
  split: z.array(z.enum(["train", "restval", "val", "test"])).default(["train", "restval"]),
  src_file: z.array(z.string()).optional(),
  no_eval: z.boolean().default(false),
  "per-image": z.boolean().optional(),
}).refine((f) => f.beam_size > 1 || f.length_penalty === 0, {
  message: "--length_penalty needs --beam_size > 1",
  path: ["length_penalty"],
});
const kinds = flagKinds(Flags);

/** The UsageError of `fn`, checked to name `flag`. */
function usageError(fn: () => unknown, flag: string | undefined, text: RegExp): void {
  throws(fn, (e: unknown) => {
    equal((e as Error).constructor, UsageError);
    equal((e as UsageError).flag, flag);
    return text.test((e as Error).message) && !(e as Error).message.includes("\n");
  });
}

Deno.test("flagKinds: booleans are store-true, arrays lists, anything else takes a value (through refine)", () => {
  deepEqual(kinds, {
    vocab: "value",
    beam_size: "value",
    length_penalty: "value",
    split: "list",
    src_file: "list",
    no_eval: "boolean",
    "per-image": "boolean",
  });
  throws(() => flagKinds(z.string()), /zod object schema/);
});

Deno.test("readFlags: argparse forms (--f v, --f=v, store-true, nargs='+' lists, negative numbers)", () => {
  deepEqual(
    readFlags(
      [
        "--vocab",
        "v.txt",
        "--beam_size=5",
        "--split",
        "train",
        "restval",
        "--no_eval",
        "--length_penalty",
        "-0.5",
      ],
      kinds,
    ),
    { vocab: "v.txt", beam_size: "5", split: ["train", "restval"], no_eval: true, length_penalty: "-0.5" },
  );
  // lists: repeated, comma-separated, and `=`
  deepEqual(readFlags(["--split", "train", "--split=val,test", "--src_file", "a", "b"], kinds), {
    split: ["train", "val", "test"],
    src_file: ["a", "b"],
  });
  deepEqual(readFlags(["--vocab", "a", "--vocab", "b"], kinds), { vocab: "b" }); // the last one wins
  deepEqual(readFlags(["--per-image"], kinds), { "per-image": true });
});

Deno.test("readFlags: every malformed command line is one line naming the flag", () => {
  usageError(
    () => readFlags(["--no_such_flag", "1"], kinds),
    "--no_such_flag",
    /^unknown flag --no_such_flag$/,
  );
  usageError(() => readFlags(["--beam-size", "2"], kinds), "--beam-size", /did you mean --beam_size\?/);
  usageError(() => readFlags(["--per_image"], kinds), "--per_image", /did you mean --per-image\?/);
  usageError(() => readFlags(["-x"], kinds), "-x", /^unknown flag -x$/);
  usageError(() => readFlags(["--vocab"], kinds), "--vocab", /^--vocab needs a value$/);
  usageError(() => readFlags(["--vocab", "--no_eval"], kinds), "--vocab", /needs a value/);
  usageError(() => readFlags(["--split", "--no_eval"], kinds), "--split", /needs a value/);
  usageError(() => readFlags(["--no_eval=yes"], kinds), "--no_eval", /^--no_eval takes no value$/);
  usageError(() => readFlags(["--vocab", "v", "extra"], kinds), undefined, /^unexpected argument "extra"$/);
  usageError(() => readFlags(["--", "x"], kinds), undefined, /unexpected argument "--"/);
  usageError(() => readFlags(["--constructor", "x"], kinds), "--constructor", /unknown flag/);
});

Deno.test("wantsHelp: --help or -h anywhere, also next to bad flags", () => {
  equal(wantsHelp(["--vocab", "v", "-h"]), true);
  equal(wantsHelp(["--no_such_flag", "--help"]), true);
  equal(wantsHelp(["--vocab=-h"]), false);
});

Deno.test("validateFlags: defaults, coercion; issues name their flags on one line", () => {
  deepEqual(validateFlags(readFlags(["--vocab", "v", "--beam_size", "3"], kinds), Flags), {
    vocab: "v",
    beam_size: 3,
    length_penalty: 0,
    split: ["train", "restval"],
    no_eval: false,
  });
  const bad = (args: string[], flag: string, text: RegExp) =>
    usageError(() => validateFlags(readFlags(args, kinds), Flags), flag, text);
  bad([], "--vocab", /^--vocab: is required$/);
  bad(["--vocab", "v", "--beam_size", "x"], "--beam_size", /^--beam_size: must be a number, got "x"$/);
  bad(["--vocab", "v", "--beam_size", "0"], "--beam_size", /^--beam_size: must be ≥ 1$/);
  bad(["--vocab", "v", "--beam_size", "1.5"], "--beam_size", /^--beam_size: must be an integer$/);
  bad(
    ["--vocab", "v", "--split", "dev"],
    "--split",
    /^--split: must be one of train, restval, val, test, got "dev"$/,
  );
  bad(
    ["--vocab", "v", "--length_penalty", "1"],
    "--length_penalty",
    /^--length_penalty needs --beam_size > 1$/,
  );
  bad(["--beam_size", "0"], "--vocab", /^--vocab: is required; --beam_size: must be ≥ 1$/);
});
