/**
 * @vlp/command: the command-line layer every `deno task` command is built on — the original's argparse
 * conventions over `node:util` `parseArgs`, flags validated with zod, one contract for help, errors and exit
 * statuses (see `command.ts`), and paths relative to where the user ran the command.
 *
 * ```ts
 * import { type Command, integer, startCommand, userPath } from "@vlp/command";
 * import { z } from "zod";
 *
 * const Flags = z.object({ src_file: z.string().min(1), beam_size: integer(1).default(1), no_eval: z.boolean().default(false) });
 * const CMD: Command<z.infer<typeof Flags>> = { name: "decode", usage: "Usage: deno task decode ...", flags: Flags };
 * const flags = startCommand(CMD); // exits on --help and on bad flags
 * const src = userPath(flags.src_file);
 * ```
 *
 * @module
 */
export {
  type Command,
  type CommandLine,
  exitWithFailure,
  failureText,
  parseCommandLine,
  startCommand,
} from "./command.ts";
export { type FlagKind, type FlagKinds, flagKinds, readFlags, UsageError, wantsHelp } from "./flags.ts";
export { integer, number, validateFlags } from "./validate.ts";
export { readText, shownPath, userDir, userPath } from "./paths.ts";
