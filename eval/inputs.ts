/**
 * Reading and validating the evaluation inputs: caption references (`{"<image_id>": [captions]}` or a
 * COCO caption annotation file), COCO caption results (`[{"image_id", "caption"}]`), VQA annotations
 * (official `{"annotations": [...]}` or the simplified list) and VQA results
 * (`[{"question_id", "answer"}]`). Errors name the file and what is wrong.
 *
 * @module
 */
import { z } from "zod";
import type { VqaQuestion } from "./vqa/accuracy.ts";

/** Image id as a string key (COCO ids are numbers; JSON object keys are strings). */
export type ImageId = string;

/** A short one-line excerpt of a text (for error messages). */
function excerpt(s: string, max = 60): string {
  const t = s.replace(/\s+/g, " ");
  return t.length > max ? t.slice(0, max) + "..." : t;
}

/**
 * Parses JSON text, turning a parse failure into a SyntaxError that names the file and shows the text
 * where parsing stopped.
 */
export function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const at = /at position (\d+)/.exec(msg);
    const near = at === null
      ? ""
      : `, near \`${excerpt(text.slice(Math.max(0, Number(at[1]) - 30), Number(at[1]) + 30))}\``;
    throw new SyntaxError(`Cannot parse "${file}": malformed JSON (${msg})${near}`);
  }
}

/**
 * zod's problems, the first one first: the first bad entry of a list (its index and an excerpt of it),
 * the key and what is wrong, then how many problems there are in all.
 */
function issues(err: z.ZodError, data: unknown): string {
  const first = err.issues[0];
  const k = first.path.findIndex((p) => typeof p === "number");
  let where: string;
  if (k >= 0) {
    // deno-lint-ignore no-explicit-any
    const entry = first.path.slice(0, k + 1).reduce((o: any, p) => o?.[p], data);
    const list = first.path.slice(0, k).join(".");
    const key = first.path.slice(k + 1).join(".");
    where = `${list ? `${list} ` : ""}entry ${first.path[k]} ${excerpt(JSON.stringify(entry) ?? "")}` +
      (key ? `, key "${key}"` : "");
  } else {
    where = first.path.length > 0 ? `key "${first.path.join(".")}"` : "the top level";
  }
  const more = err.issues.length > 1 ? ` (${err.issues.length} problems; the first is shown)` : "";
  return `${where}: ${first.message}${more}`;
}

function validate<T>(schema: z.ZodType<T>, data: unknown, file: string, what: string): T {
  const r = schema.safeParse(data);
  if (!r.success) throw new TypeError(`Cannot read "${file}" as ${what}: ${issues(r.error, data)}`);
  return r.data;
}

/** The error for a file that holds nothing to evaluate. */
function nothingIn(file: string, what: string): RangeError {
  return new RangeError(`Cannot evaluate "${file}": it holds no ${what}; there is nothing to score`);
}

/**
 * The keys of the top-level JSON object in `text`, in file order (`JSON.parse` would put integer-like
 * keys first in ascending order). Assumes `text` is valid JSON whose top level is an object.
 */
export function topLevelKeys(text: string): string[] {
  const keys: string[] = [];
  let i = text.indexOf("{") + 1;
  let depth = 0, expectKey = true;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      if (depth === 0 && expectKey) {
        keys.push(JSON.parse(text.slice(i, j + 1)));
        expectKey = false;
      }
      i = j + 1;
      continue;
    }
    if (c === "{" || c === "[") depth++;
    else if (c === "}" || c === "]") {
      if (depth === 0) break;
      depth--;
    } else if (c === "," && depth === 0) expectKey = true;
    i++;
  }
  return keys;
}

const imageIdSchema = z.union([z.number().int(), z.string().min(1)]);
const simpleRefsSchema = z.record(
  z.string(),
  z.array(z.string()).min(1, "an image needs at least one caption"),
);
const cocoRefsSchema = z.object({
  images: z.array(z.object({ id: imageIdSchema }).passthrough()).optional(),
  annotations: z.array(z.object({ image_id: imageIdSchema, caption: z.string() }).passthrough()),
}).passthrough();

/**
 * Caption references from JSON text: `{"<image_id>": ["caption", ...]}` or a COCO annotation file
 * (`annotations: [{image_id, caption}]`, image order from `images` when present). Keeps file order.
 */
export function parseReferences(text: string, file: string): Map<ImageId, string[]> {
  const data = parseJson(text, file);
  if (data !== null && typeof data === "object" && !Array.isArray(data) && "annotations" in data) {
    const coco = validate(cocoRefsSchema, data, file, "a COCO caption annotation file");
    const refs = new Map<ImageId, string[]>();
    for (const img of coco.images ?? []) refs.set(String(img.id), []);
    for (const a of coco.annotations) {
      const id = String(a.image_id);
      if (!refs.has(id)) refs.set(id, []);
      refs.get(id)!.push(a.caption);
    }
    for (const [id, caps] of refs) if (caps.length === 0) refs.delete(id);
    if (refs.size === 0) throw nothingIn(file, 'caption annotations (its "annotations" list is empty)');
    return refs;
  }
  const simple = validate(simpleRefsSchema, data, file, 'references {"<image_id>": ["caption", ...]}');
  const refs = new Map(topLevelKeys(text).map((k) => [k, simple[k]]));
  if (refs.size === 0) throw nothingIn(file, "references (no image ids)");
  return refs;
}

const resultsSchema = z.array(z.object({ image_id: imageIdSchema, caption: z.string() }).passthrough());

/** One caption result in the COCO results format. */
export interface CaptionResult {
  image_id: number | string;
  caption: string;
}

/** Caption results `[{"image_id", "caption"}]` from JSON text; an empty list is an error. */
export function parseResults(text: string, file: string): CaptionResult[] {
  const list = validate(
    resultsSchema,
    parseJson(text, file),
    file,
    'caption results [{"image_id", "caption"}]',
  );
  if (list.length === 0) throw nothingIn(file, "caption results (an empty list)");
  return list;
}

const vqaOfficialSchema = z.object({
  annotations: z.array(
    z.object({
      question_id: z.number().int(),
      question_type: z.string(),
      answer_type: z.string(),
      answers: z.array(z.object({ answer: z.string() }).passthrough()).min(1),
    }).passthrough(),
  ),
}).passthrough();
const vqaSimpleSchema = z.array(
  z.object({
    question_id: z.number().int(),
    question_type: z.string(),
    answer_type: z.string(),
    answers: z.array(z.string()).min(1),
  }).passthrough(),
);

/**
 * VQA annotations: the official `{"annotations": [...]}` file or the simplified list (answers as
 * strings); no questions at all is an error.
 */
export function parseVqaAnnotations(text: string, file: string): VqaQuestion[] {
  const data = parseJson(text, file);
  const questions = vqaQuestions(data, file);
  if (questions.length === 0) throw nothingIn(file, "VQA questions (no annotations)");
  return questions;
}

function vqaQuestions(data: unknown, file: string): VqaQuestion[] {
  if (Array.isArray(data)) {
    return validate(vqaSimpleSchema, data, file, "VQA annotations (list)").map((q) => ({
      question_id: q.question_id,
      question_type: q.question_type,
      answer_type: q.answer_type,
      answers: q.answers,
    }));
  }
  return validate(vqaOfficialSchema, data, file, "VQA annotations").annotations.map((q) => ({
    question_id: q.question_id,
    question_type: q.question_type,
    answer_type: q.answer_type,
    answers: q.answers.map((a) => a.answer),
  }));
}

const vqaResultsSchema = z.array(
  z.object({ question_id: z.number().int(), answer: z.string() }).passthrough(),
);

/** VQA results `[{"question_id", "answer"}]`; a repeated question id or an empty list is an error. */
export function parseVqaResults(text: string, file: string): Map<number, string> {
  const list = validate(
    vqaResultsSchema,
    parseJson(text, file),
    file,
    'VQA results [{"question_id", "answer"}]',
  );
  const out = new Map<number, string>();
  for (const r of list) {
    if (out.has(r.question_id)) {
      throw new RangeError(`"${file}": question_id ${r.question_id} has more than one answer`);
    }
    out.set(r.question_id, r.answer);
  }
  if (out.size === 0) throw nothingIn(file, "VQA answers (an empty list)");
  return out;
}
