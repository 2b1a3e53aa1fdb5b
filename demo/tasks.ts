/**
 * Run the project's CLIs exactly as a user does (`deno task <name> ...`): the script of each task is read
 * from the root `deno.json`, run in a child Deno process, its stderr passed through (or kept for error
 * messages), and the JSON line its stdout ends with parsed.
 *
 * @module
 */
import { fileURLToPath } from "node:url";
import { join, relative } from "node:path";

/** The repository root (this file lives in `demo/`). */
export const ROOT: string = fileURLToPath(new URL("..", import.meta.url));

/** One finished command. */
export interface TaskRun {
  task: string;
  args: string[];
  /** The command as a user types it from the repository root. */
  command: string;
  seconds: number;
  /** The JSON object of the last stdout line. */
  figures: Record<string, unknown>;
}

let scripts: Map<string, string> | undefined;

/** The script a `deno task` runs (`npx deno run -A <script>` in deno.json). */
export function taskScript(task: string): string {
  if (!scripts) {
    const json = JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.json"))) as {
      tasks: Record<string, string>;
    };
    scripts = new Map();
    for (const [name, cmd] of Object.entries(json.tasks)) {
      const m = /deno run -A (\S+\.ts)$/.exec(cmd);
      if (m) scripts.set(name, m[1]!);
    }
  }
  const s = scripts.get(task);
  if (!s) throw new RangeError(`No deno task "${task}" running a script in deno.json`);
  return join(ROOT, s);
}

/** Quote an argument for display in a shell command line. */
function shellQuote(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", "'\\''")}'`;
}

/** Options of {@linkcode runTask}. */
export interface RunTaskOptions {
  /** Pass the child's stderr through (default true); otherwise keep it for the error message. */
  passStderr?: boolean;
  /** Extra environment variables. */
  env?: Record<string, string>;
}

/**
 * Run `deno task <task> <args>` (as `deno run -A <script> <args>` from the repository root) and return its
 * figures. A non-zero exit is an `Error` naming the command and (when captured) the end of its stderr.
 */
export async function runTask(task: string, args: string[], opts: RunTaskOptions = {}): Promise<TaskRun> {
  const pass = opts.passStderr ?? true;
  const shown = args.map((a) => (a.startsWith(ROOT) ? relative(ROOT, a) || "." : a));
  const command = `deno task ${task} ${shown.map(shellQuote).join(" ")}`;
  const t0 = performance.now();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", taskScript(task), ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: pass ? "inherit" : "piped",
    env: { NO_COLOR: "1", ...opts.env },
  }).spawn();
  const out = await child.output();
  const seconds = (performance.now() - t0) / 1000;
  const stdout = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) {
    const tail = pass
      ? ""
      : `:\n${new TextDecoder().decode(out.stderr).trim().split("\n").slice(-15).join("\n")}`;
    throw new Error(`"${command}" failed with exit code ${out.code}${tail}`);
  }
  const last = stdout.split("\n").at(-1) ?? "";
  let figures: Record<string, unknown>;
  try {
    figures = JSON.parse(last);
  } catch {
    throw new SyntaxError(
      `"${command}" did not end its output with a JSON line: ${JSON.stringify(last.slice(0, 200))}`,
    );
  }
  return { task, args, command, seconds, figures };
}
