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

/** Parses JSON text, turning a parse failure into a SyntaxError that names the file. */
export function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new SyntaxError(`Cannot parse "${file}": malformed JSON (${(e as Error).message})`);
  }
}

/** Formats zod issues as "key.path: message" lines. */
function issues(err: z.ZodError, max = 5): string {
  const list = err.issues.slice(0, max).map((i) =>
    `${i.path.length > 0 ? i.path.join(".") : "(root)"}: ${i.message}`
  );
  return list.join("; ") + (err.issues.length > max ? `; ... (${err.issues.length} problems)` : "");
}

function validate<T>(schema: z.ZodType<T>, data: unknown, file: string, what: string): T {
  const r = schema.safeParse(data);
  if (!r.success) throw new TypeError(`Cannot read "${file}" as ${what}: ${issues(r.error)}`);
  return r.data;
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
    return refs;
  }
  const simple = validate(simpleRefsSchema, data, file, 'references {"<image_id>": ["caption", ...]}');
  return new Map(topLevelKeys(text).map((k) => [k, simple[k]]));
}

const resultsSchema = z.array(z.object({ image_id: imageIdSchema, caption: z.string() }).passthrough());

/** One caption result in the COCO results format. */
export interface CaptionResult {
  image_id: number | string;
  caption: string;
}

/** Caption results `[{"image_id", "caption"}]` from JSON text. */
export function parseResults(text: string, file: string): CaptionResult[] {
  return validate(resultsSchema, parseJson(text, file), file, 'caption results [{"image_id", "caption"}]');
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

/** VQA annotations: the official `{"annotations": [...]}` file or the simplified list (answers as strings). */
export function parseVqaAnnotations(text: string, file: string): VqaQuestion[] {
  const data = parseJson(text, file);
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

/** VQA results `[{"question_id", "answer"}]`; a repeated question id is an error. */
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
  return out;
}
