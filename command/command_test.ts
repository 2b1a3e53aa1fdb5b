import { deepEqual, equal, match, ok } from "node:assert/strict";
import { runCli } from "@vlp/testing";

const run = (...args: string[]) => runCli("command/testdata/sample_command.ts", args);

/** One line on stderr, no stack trace. */
function oneLine(stderr: string): void {
  equal(stderr.trim().split("\n").length, 1, stderr);
  ok(!/^\s+at /m.test(stderr), stderr);
}

Deno.test("startCommand: flags parsed and validated; the command runs", async () => {
  const r = await run("--beam_size", "5", "--split", "val", "test", "--length_penalty", "-1");
  equal(r.code, 0, r.stderr);
  deepEqual(r.json, {
    beam_size: 5,
    length_penalty: -1,
    split: ["val", "test"],
    no_eval: false,
    fail_later: false,
  });
});

Deno.test("startCommand: --help and -h print the usage to stdout, exit 0, even beside a bad flag", async () => {
  for (const args of [["--help"], ["-h"], ["--no_such_flag", "--help"]]) {
    const r = await run(...args);
    equal(r.code, 0, r.stderr);
    match(r.stdout, /^Usage: sample /);
    equal(r.stderr, "");
  }
});

Deno.test("startCommand: a bad command line is one line naming the flag, exit 2", async () => {
  for (
    const [args, text] of [
      [["--no_such_flag"], /^sample: unknown flag --no_such_flag \(see --help\)$/],
      [["--beam_size", "zero"], /^sample: --beam_size: must be a number, got "zero" \(see --help\)$/],
      [["--beam_size"], /^sample: --beam_size needs a value/],
      [["--fail_later"], /^sample: --fail_later needs --no_eval \(see --help\)$/],
    ] as const
  ) {
    const r = await run(...args);
    equal(r.code, 2, r.stderr);
    equal(r.stdout, "");
    oneLine(r.stderr);
    match(r.stderr.trim(), text);
  }
});

Deno.test("startCommand: a runtime failure is one line naming the file, exit 1, no stack trace", async () => {
  const r = await run("--fail", "model.3.bin");
  equal(r.code, 1);
  oneLine(r.stderr);
  equal(r.stderr.trim(), 'sample: Cannot read "model.3.bin": unexpected end of data');
});
