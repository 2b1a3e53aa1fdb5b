/**
 * A small command for the tests of `@vlp/command`: prints its flags as one JSON line; `--fail file` throws
 * as a failing read would, `--fail_later` throws a usage error after the flags were read.
 *
 * @module
 */
import { z } from "zod";
import { type Command, integer, startCommand, UsageError } from "../mod.ts";

const Flags = z.object({
  beam_size: integer(1).default(1),
  length_penalty: z.coerce.number().default(0),
  split: z.array(z.enum(["train", "restval", "val", "test"])).default(["train", "restval"]),
  no_eval: z.boolean().default(false),
  fail: z.string().optional(),
  fail_later: z.boolean().default(false),
});

const CMD: Command<z.infer<typeof Flags>> = {
  name: "sample",
  usage: "Usage: sample [--beam_size W] [--split S...] [--no_eval] [--fail FILE] [--fail_later]",
  flags: Flags,
};

const flags = startCommand(CMD);
await new Promise((r) => setTimeout(r, 1));
if (flags.fail) throw new SyntaxError(`Cannot read "${flags.fail}": unexpected end of data`);
if (flags.fail_later) throw new UsageError("--fail_later needs --no_eval", "--fail_later");
console.log(JSON.stringify(flags));
