/**
 * The contract of every command a user runs (`@vlp/command`), checked for every `deno task` that runs a
 * script (`npx deno run -A <script>`), read from the root deno.json so that a new command cannot be missed:
 * `--help` and `-h` print a usage text starting with `Usage:` to stdout with exit status 0; an unknown flag
 * prints one line naming it to stderr with exit status 2, without a stack trace. No model is loaded: the
 * command line is read before any work starts.
 *
 * @module
 */
import { equal, match, ok } from "node:assert/strict";
import { runCli } from "@vlp/testing";

const tasks = JSON.parse(await Deno.readTextFile(new URL("../deno.json", import.meta.url))).tasks as Record<
  string,
  string
>;
/** task name → script, for every task that runs a script */
const COMMANDS = Object.entries(tasks).flatMap(([task, cmd]) => {
  const m = /^npx deno run -A (\S+\.ts)$/.exec(cmd);
  return m ? [[task, m[1]] as const] : [];
});

/** Run `fn` over `items`, at most `n` at a time. */
async function pool<T>(items: readonly T[], n: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(Array.from({ length: n }, async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
  }));
}

Deno.test("every deno task command: --help / -h → usage on stdout, exit 0; an unknown flag → one line, exit 2", async () => {
  ok(COMMANDS.length >= 14, `only ${COMMANDS.length} commands found in deno.json`);
  const failures: string[] = [];
  await pool(COMMANDS, 3, async ([task, script]) => {
    try {
      for (const flag of ["--help", "-h"]) {
        const h = await runCli(script, [flag]);
        equal(h.code, 0, `${flag}: exit ${h.code}: ${h.stderr}`);
        match(h.stdout, /^Usage: /, `${flag}: stdout does not start with "Usage:"`);
      }
      const bad = await runCli(script, ["--no_such_flag"]);
      equal(bad.code, 2, `--no_such_flag: exit ${bad.code}: ${bad.stderr}`);
      const lines = bad.stderr.trim().split("\n");
      equal(lines.length, 1, `--no_such_flag: ${lines.length} lines on stderr:\n${bad.stderr}`);
      match(lines[0], /--no_such_flag/);
      ok(!/\bat .*:\d+:\d+/.test(bad.stderr), `--no_such_flag: a stack trace:\n${bad.stderr}`);
      equal(bad.stdout, "", "--no_such_flag: output on stdout");
    } catch (e) {
      failures.push(`deno task ${task} (${script}): ${(e as Error).message}`);
    }
  });
  equal(failures.length, 0, failures.join("\n"));
});
