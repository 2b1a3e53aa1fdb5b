/**
 * The training output folder (`--output_dir`) before a run: what it holds, where the run continues, and what
 * it refuses. A run never starts afresh over checkpoints it cannot resume, and never silently steps back to
 * an older one (the original's `_get_max_epoch_model` resumes the newest `model.N.bin` + `optim.N.bin`).
 *
 * Only the newest epoch N of the folder (over `model.N.bin`, `optim.N.npz` and the original's `optim.N.bin`)
 * decides, in {@linkcode planOutputFolder}:
 *
 * - `model.N.bin` with an `optim.N.npz` that reads back: the run continues from epoch N;
 * - a damaged `optim.N.npz` (truncated, not a zip, a bad CRC, no `state.json`; missing or mis-sized arrays
 *   are found against the model by {@linkcode checkRunAgainstFolder}), the original's `optim.N.bin` (a PyTorch
 *   optimiser that cannot be resumed exactly), an `optim.N.npz` without its model, or a `model.N.bin`
 *   without optimiser state: refused, naming the files and the ways on (`--resume_from` an older checkpoint
 *   on purpose, `--overwrite_output_dir`, another `--output_dir`);
 * - no checkpoint, but files a fresh run would replace (`train_log.jsonl`, `opt.json`, `train_curve.svg`,
 *   `val_captions.E.json`): refused likewise.
 *
 * Two leftovers of this project's own writer are not refused, since the run recomputes them exactly: a
 * `model.N.bin` written just before a kill, whose `optim.N.npz` never was (the log has no record of epoch N
 * completing, and the checkpoint of epoch N − 1 is complete), and the log and `opt.json` of a run killed in
 * its first epoch, before any checkpoint — the latter only when `opt.json` holds this run's settings
 * ({@linkcode checkRunAgainstFolder}).
 *
 * `--resume_from DIR/model.K.bin` continues from epoch K of the folder whatever is newer (the files of later
 * epochs are replaced as the run reaches them). `--overwrite_output_dir` starts over: once every check has
 * passed, just before the first batch, {@linkcode prepareOutputFolder} removes the training files of the
 * earlier run (only names a training run writes; nothing else in the folder), so that the folder never holds
 * two runs' checkpoints that a later resume would take for one. Temporary files of atomic writes left by
 * killed processes are removed there too (`removeStaleTemporaries`); their hidden names never match a data
 * file's, so they are never taken for checkpoints.
 *
 * @module
 */
import { basename, dirname, join, resolve } from "node:path";
import { checkOutputDir, shownPath } from "@vlp/command";
import { removeStaleTemporaries } from "@vlp/io";
import { loadRunState, modelPath, type RunCheckpoint, statePath } from "./run_state.ts";
import { checkSettings, readTrainLog, RUN_FILES } from "./trainer.ts";

/** A checkpoint to continue from: the epoch it ends and its optimiser and loop state. */
export interface ResumePoint {
  epoch: number;
  state: RunCheckpoint;
}

/** What {@linkcode planOutputFolder} decided. */
export interface FolderPlan {
  /** the output folder (absolute) */
  dir: string;
  /** the checkpoint to continue from; null: a fresh start */
  resume: ResumePoint | null;
  /** training files of an earlier run, removed before the first batch (`--overwrite_output_dir`) */
  remove: string[];
  /** a fresh start over a run killed in its first epoch: its `opt.json` must hold this run's settings */
  restartOf: string | null;
  /** what the run should tell the user (one line each) */
  notes: string[];
  /** the newest older epoch with both files (offered as `--resume_from` if the resume point is refused) */
  older: number | null;
}

/** Options of {@linkcode planOutputFolder}. */
export interface FolderOptions {
  /** `--resume_from`: a `model.K.bin` of the folder to continue from */
  resumeFrom?: string;
  /** `--overwrite_output_dir`: start over, removing the earlier run's training files */
  overwrite?: boolean;
  /** `--resume`: a checkpoint to continue from is required */
  require?: boolean;
}

/** The training files in a folder, by kind. */
interface Contents {
  models: Set<number>;
  states: Set<number>;
  /** the original's `optim.N.bin` */
  foreign: Set<number>;
  captions: Set<number>;
  /** `train_log.jsonl`, `opt.json`, `train_curve.svg` that are there */
  named: string[];
  /** every training file (paths) */
  all: string[];
}

const PATTERNS: [RegExp, keyof Pick<Contents, "models" | "states" | "foreign" | "captions">][] = [
  [/^model\.(\d+)\.bin$/, "models"],
  [/^optim\.(\d+)\.npz$/, "states"],
  [/^optim\.(\d+)\.bin$/, "foreign"],
  [/^val_captions\.(\d+)\.json$/, "captions"], // train.ts: --val_split's captions of each epoch
];

async function scan(dir: string): Promise<Contents | null> {
  const c: Contents = {
    models: new Set(),
    states: new Set(),
    foreign: new Set(),
    captions: new Set(),
    named: [],
    all: [],
  };
  const names = new Set<string>(Object.values(RUN_FILES));
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isDirectory) continue;
      const hit = PATTERNS.find(([re]) => re.test(e.name));
      if (hit) c[hit[1]].add(Number(hit[0].exec(e.name)![1]));
      else if (names.has(e.name)) c.named.push(e.name);
      else continue;
      c.all.push(join(dir, e.name));
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    if (e instanceof Deno.errors.NotADirectory) {
      throw new Error(`cannot write into --output_dir "${shownPath(dir)}": it is a file, not a folder`);
    }
    throw e;
  }
  c.all.sort();
  return c;
}

const quote = (p: string) => `"${shownPath(p)}"`;
/** A file of the output folder, by its name (the message names the folder first). */
const named = (p: string) => `"${basename(p)}"`;

/** The one-line refusal: what is wrong, the ways on, and that nothing was changed. */
function refusal(dir: string, what: string, ways: string[]): Error {
  return new Error(
    `--output_dir ${quote(dir)} ${what}. Nothing was changed. Ways on: ${ways.join("; ")}`,
  );
}

const WAY_OVERWRITE = "--overwrite_output_dir to start over (it removes the folder's training files " +
  "model.*.bin, optim.*, opt.json, train_log.jsonl, train_curve.svg, val_captions.*.json first)";
const WAY_OTHER = "or another --output_dir";

function wayResume(dir: string, epoch: number): string {
  return `--resume_from ${quote(modelPath(dir, epoch))} to resume from epoch ${epoch} on purpose ` +
    `(the later epochs are trained again and their files replaced)`;
}

/** A state that reads back, or the reason it does not. */
async function tryState(dir: string, epoch: number): Promise<RunCheckpoint | string> {
  try {
    return await loadRunState(statePath(dir, epoch));
  } catch (e) {
    return (e as Error).message;
  }
}

/** The newest epoch below `below` whose model and state are there and read back. */
async function olderResumable(dir: string, c: Contents, below: number): Promise<number | null> {
  const epochs = [...c.models].filter((e) => e < below && c.states.has(e)).sort((a, b) => b - a);
  for (const e of epochs) if (typeof await tryState(dir, e) !== "string") return e;
  return null;
}

/** Whether a file of epochs after `epoch` shows that a later epoch completed (the log or its captions). */
async function completedAfter(dir: string, c: Contents, epoch: number): Promise<boolean> {
  if ([...c.captions].some((e) => e > epoch)) return true;
  const log = await readTrainLog(join(dir, RUN_FILES.log));
  return log.some((r) => r.type === "epoch" && r.epoch > epoch);
}

/**
 * Decide, before any work and without changing anything, where a run in `dir` starts (see the module doc).
 * Throws an `Error` (exit status 1) naming the files and the ways on when the folder cannot be used as asked.
 */
export async function planOutputFolder(dir: string, o: FolderOptions = {}): Promise<FolderPlan> {
  dir = resolve(dir);
  await checkOutputDir(dir, "--output_dir", { create: true });
  const c = await scan(dir);
  const plan: FolderPlan = { dir, resume: null, remove: [], restartOf: null, notes: [], older: null };
  if (!c) {
    if (o.resumeFrom || o.require) throw noCheckpoint(dir, o);
    return plan;
  }
  if (o.overwrite) {
    plan.remove = c.all;
    if (c.all.length) {
      plan.notes.push(
        `--overwrite_output_dir: ${c.all.length} training file(s) of an earlier run in ${quote(dir)} ` +
          `are removed before the first batch`,
      );
    }
    return plan;
  }
  if (o.resumeFrom) return await planResumeFrom(dir, c, o.resumeFrom, plan);

  const epochs = [...c.models, ...c.states, ...c.foreign];
  if (epochs.length === 0) {
    const leftovers = [...c.named, ...[...c.captions].map((e) => `val_captions.${e}.json`)];
    if (leftovers.length) {
      const killedInEpoch1 = c.named.includes(RUN_FILES.settings) && c.captions.size === 0 &&
        !(await completedAfter(dir, c, 0));
      if (!killedInEpoch1) {
        throw refusal(
          dir,
          `holds ${leftovers.map((n) => `"${n}"`).join(", ")} of an earlier run but no checkpoint: a fresh ` +
            `run would replace them`,
          [WAY_OVERWRITE, WAY_OTHER],
        );
      }
      plan.restartOf = join(dir, RUN_FILES.settings);
    }
    if (o.require) throw noCheckpoint(dir, o);
    return plan;
  }

  const n = Math.max(...epochs);
  const model = modelPath(dir, n), state = statePath(dir, n), foreign = join(dir, `optim.${n}.bin`);
  const older = () => olderResumable(dir, c, n);
  const ways = async () => {
    const k = await older();
    return [...(k === null ? [] : [wayResume(dir, k)]), WAY_OVERWRITE, WAY_OTHER];
  };
  if (c.models.has(n) && c.states.has(n)) {
    const s = await tryState(dir, n);
    if (typeof s !== "string") {
      plan.resume = { epoch: n, state: s };
      plan.older = [...c.models].filter((e) => e < n && c.states.has(e)).reduce((a, b) => Math.max(a, b), -1);
      if (plan.older < 0) plan.older = null;
      return plan;
    }
    throw refusal(
      dir,
      `holds checkpoints that cannot be resumed exactly: the newest optimiser state ${named(state)} is ` +
        `damaged (${s}); a run would not step back to an older checkpoint by itself`,
      await ways(),
    );
  }
  if (c.states.has(n)) {
    throw refusal(
      dir,
      `holds the optimiser state ${named(state)} without its model ${named(model)}`,
      await ways(),
    );
  }
  if (c.foreign.has(n)) {
    const weights = c.models.has(n)
      ? [
        `to fine-tune from its weights instead, --model_recover_path ${
          quote(model)
        } with another --output_dir`,
      ]
      : [];
    throw refusal(
      dir,
      `holds ${named(foreign)}, the original's optimiser state (PyTorch), which this project cannot resume ` +
        `exactly${c.models.has(n) ? ` (with ${named(model)})` : ""}`,
      [...weights, ...(await ways())],
    );
  }
  // model.N.bin alone: a kill between the model's write and the state's, or a model that is not ours
  const k = await older();
  const previous = n === 1 ? 0 : k;
  if (previous === n - 1 && !(await completedAfter(dir, c, n - 1))) {
    plan.notes.push(
      `${named(model)} is an incomplete checkpoint (a run was stopped before it wrote ${
        named(state)
      }, and the log has no end of epoch ${n}): epoch ${n} is trained again and replaces it`,
    );
    if (k !== null) {
      plan.resume = { epoch: k, state: (await tryState(dir, k)) as RunCheckpoint };
    } else {
      if (o.require) throw noCheckpoint(dir, o);
      plan.restartOf = c.named.includes(RUN_FILES.settings) ? join(dir, RUN_FILES.settings) : null;
      if (!plan.restartOf) {
        throw refusal(dir, `holds ${named(model)} without optimiser state (${named(state)})`, await ways());
      }
    }
    return plan;
  }
  throw refusal(
    dir,
    `holds ${named(model)} without optimiser state (${named(state)}): it cannot be resumed exactly, and a ` +
      `fresh run would replace it`,
    [
      `to fine-tune from its weights, --model_recover_path ${quote(model)} with another --output_dir`,
      ...(await ways()),
    ],
  );
}

function noCheckpoint(dir: string, o: FolderOptions): Error {
  return new Error(
    `Cannot resume${o.resumeFrom ? ` from ${quote(o.resumeFrom)}` : ""}: ${
      quote(dir)
    } has no complete checkpoint (model.N.bin with optim.N.npz)`,
  );
}

async function planResumeFrom(dir: string, c: Contents, from: string, plan: FolderPlan): Promise<FolderPlan> {
  const m = /^model\.(\d+)\.bin$/.exec(basename(from));
  let sameFolder = false;
  try {
    sameFolder = (await Deno.realPath(dirname(resolve(from)))) === (await Deno.realPath(dir));
  } catch {
    // a folder that does not exist is not the output folder
  }
  if (!m || !sameFolder) {
    throw new Error(
      `--resume_from ${quote(from)} must be a model.K.bin of --output_dir ${quote(dir)} (the run continues ` +
        `in the folder of its checkpoint; to start a new run from other weights use --model_recover_path)`,
    );
  }
  const k = Number(m[1]);
  if (!c.models.has(k)) throw new Error(`--resume_from ${quote(from)}: no such file`);
  if (!c.states.has(k)) {
    throw new Error(
      `--resume_from ${quote(from)}: its optimiser state ${quote(statePath(dir, k))} is not there, so it ` +
        `cannot be resumed exactly (to fine-tune from its weights, --model_recover_path with another --output_dir)`,
    );
  }
  const s = await tryState(dir, k);
  if (typeof s === "string") {
    throw new Error(`--resume_from ${quote(from)}: its optimiser state is damaged (${s})`);
  }
  plan.resume = { epoch: k, state: s };
  const later = c.all.filter((p) => PATTERNS.some(([re]) => Number(re.exec(basename(p))?.[1] ?? -1) > k));
  if (later.length) {
    plan.notes.push(
      `resuming from epoch ${k} on purpose: ${later.map((p) => `"${basename(p)}"`).join(", ")} of later ` +
        `epochs are replaced as the run reaches them`,
    );
  }
  return plan;
}

/** What {@linkcode checkRunAgainstFolder} compares with the folder's checkpoint. */
export interface RunShape {
  /** the run's settings (`opt.json`; a resumed run must share its checkpoint's) */
  settings: Record<string, unknown>;
  /** the parameters BertAdam steps (`BertAdam.stepping`) */
  stepping: readonly string[];
  /** elements of each parameter */
  sizes: ReadonlyMap<string, number>;
}

/**
 * Once the data and the model are set up, before the first batch: the resume point's settings must be this
 * run's, and its optimiser state must hold every array the optimiser needs with the model's sizes (a state
 * that reads back can still lack arrays); a fresh start over a run killed in its first epoch must have that
 * run's settings. Throws a refusal naming the files and the ways on.
 */
export async function checkRunAgainstFolder(plan: FolderPlan, run: RunShape): Promise<void> {
  if (plan.restartOf) await checkRestart(plan, plan.restartOf, run.settings);
  if (!plan.resume) return;
  const { epoch, state } = plan.resume;
  checkSettings(state.loop.settings, run.settings, shownPath(statePath(plan.dir, epoch)));
  const problems: string[] = [];
  for (const name of run.stepping) {
    for (const [which, map] of [["m", state.optimizer.m], ["v", state.optimizer.v]] as const) {
      const a = map.get(name);
      if (!a) problems.push(`"${which}.${name}" is missing`);
      else if (a.length !== run.sizes.get(name)) {
        problems.push(`"${which}.${name}" has ${a.length} elements, expected ${run.sizes.get(name)}`);
      }
    }
  }
  if (problems.length) {
    const more = problems.length > 3 ? ` and ${problems.length - 3} more` : "";
    throw refusal(
      plan.dir,
      `holds an optimiser state that does not fit the model: ${named(statePath(plan.dir, epoch))} is ` +
        `damaged (${problems.slice(0, 3).join(", ")}${more})`,
      [...(plan.older === null ? [] : [wayResume(plan.dir, plan.older)]), WAY_OVERWRITE, WAY_OTHER],
    );
  }
}

async function checkRestart(
  plan: FolderPlan,
  file: string,
  settings: Record<string, unknown>,
): Promise<void> {
  let saved: Record<string, unknown> | null = null;
  try {
    saved = JSON.parse(await Deno.readTextFile(file));
  } catch {
    // unreadable: not a run of ours with these settings
  }
  const diffs = saved && typeof saved === "object"
    ? [...new Set([...Object.keys(saved), ...Object.keys(settings)])].filter((k) =>
      JSON.stringify(saved![k]) !== JSON.stringify(settings[k])
    ).map((k) => `${k} is ${JSON.stringify(settings[k])} now but ${JSON.stringify(saved![k])} there`)
    : ["it does not read back"];
  if (diffs.length) {
    throw refusal(
      plan.dir,
      `holds the files of an earlier run but no checkpoint, and its ${named(file)} has other settings ` +
        `(${diffs.join("; ")}): a fresh run would replace them`,
      [WAY_OVERWRITE, WAY_OTHER],
    );
  }
  plan.notes.push(`restarting a run with these settings that was stopped before its first checkpoint`);
}

/** The files a run from `plan` writes or removes (for `refuseOverwritingInputs`). */
export function plannedOutputs(plan: FolderPlan, epochs: number): string[] {
  const out = [...plan.remove, ...Object.values(RUN_FILES).map((n) => join(plan.dir, n))];
  for (let e = (plan.resume?.epoch ?? 0) + 1; e <= epochs; e++) {
    out.push(modelPath(plan.dir, e), statePath(plan.dir, e), join(plan.dir, `val_captions.${e}.json`));
  }
  return [...new Set(out)];
}

/**
 * Just before the first batch: make the folder, remove the temporary files killed runs left there, and (for
 * `--overwrite_output_dir`) the earlier run's training files. Returns the paths removed.
 */
export async function prepareOutputFolder(
  plan: FolderPlan,
): Promise<{ temporaries: string[]; removed: string[] }> {
  await Deno.mkdir(plan.dir, { recursive: true });
  const temporaries = await removeStaleTemporaries(plan.dir);
  const removed: string[] = [];
  for (const p of plan.remove) {
    try {
      await Deno.remove(p);
      removed.push(p);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
  }
  return { temporaries, removed };
}
