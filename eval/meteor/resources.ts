/**
 * Meteor 1.5's English resources: the function word list, the WordNet synonym tables (synsets of each
 * word and the irregular-form exceptions, with Meteor's own suffix-stripping `morph` fallback), and the
 * optional paraphrase table (`paraphrase-en.gz`).
 *
 * @module
 */
import { join } from "node:path";
import { javaTokens } from "./java_compat.ts";

/** WordNet synonym lookup as Meteor's `SynonymDictionary`. */
export class SynonymDictionary {
  /** word -> synset ids. */
  private synsets = new Map<string, Int32Array>();
  /** inflected form -> base forms (WordNet exception lists). */
  private bases = new Map<string, string[]>();

  /**
   * @param synsetsText `english.synsets`: pairs of lines, a word then its synset ids.
   * @param exceptionsText `english.exceptions`: pairs of lines, a base form then its irregular forms.
   */
  constructor(synsetsText: string, exceptionsText: string) {
    const syn = synsetsText.split("\n");
    for (let i = 0; i + 1 < syn.length; i += 2) {
      if (syn[i] === "" && i === syn.length - 1) break;
      this.synsets.set(syn[i], Int32Array.from(javaTokens(syn[i + 1]), (t) => parseInt(t, 10)));
    }
    const exc = exceptionsText.split("\n");
    for (let i = 0; i + 1 < exc.length; i += 2) {
      const base = exc[i];
      for (const form of javaTokens(exc[i + 1])) {
        let list = this.bases.get(form);
        if (list === undefined) this.bases.set(form, list = []);
        list.push(base);
      }
    }
  }

  /** Synsets of the word itself. */
  synSets(word: string): ArrayLike<number> & Iterable<number> {
    return this.synsets.get(word) ?? [];
  }

  /** Synsets of the word's base form: its exception bases, else Meteor's `morph` guess. */
  stemSynSets(word: string): number[] {
    const bases = this.bases.get(word);
    if (bases !== undefined) return bases.flatMap((b) => [...this.synSets(b)]);
    return [...this.synSets(this.morph(word))];
  }

  /**
   * Meteor's `morph`: the first WordNet-style suffix replacement that gives a known word ("" if none).
   * As in the original, words ending in "ful" get "ful" appended back to the result.
   */
  private morph(word: string): string {
    const end = word.endsWith("ful") ? "ful" : "";
    if (word.endsWith("ss") || word.length <= 2) return word;
    for (let i = 0; i < MORPH_SUFFIX.length; i++) {
      if (!word.endsWith(MORPH_SUFFIX[i])) continue;
      const candidate = word.slice(0, word.length - MORPH_SUFFIX[i].length) + MORPH_ENDING[i];
      if (this.synsets.has(candidate)) return candidate + end;
    }
    return "";
  }
}

/** WordNet's detachment rules (nouns, verbs, adjectives), in Meteor's order. */
const MORPH_SUFFIX = [
  "s",
  "ses",
  "xes",
  "zes",
  "ches",
  "shes",
  "men",
  "ies",
  "s",
  "ies",
  "es",
  "es",
  "ed",
  "ed",
  "ing",
  "ing",
  "er",
  "est",
  "er",
  "est",
];
const MORPH_ENDING = [
  "",
  "s",
  "x",
  "z",
  "ch",
  "sh",
  "man",
  "y",
  "",
  "y",
  "e",
  "",
  "e",
  "",
  "e",
  "",
  "",
  "",
  "e",
  "e",
];

/**
 * Paraphrase table as Meteor's `ParaphraseTransducer`: words are mapped to ids in order of first
 * appearance; a trie over reference phrases gives, for each position of a sentence, the phrases that
 * start there and their paraphrases.
 */
export class ParaphraseTable {
  private vocab = new Map<string, number>();
  /** Trie: per node, word id -> child node. */
  private trans: Map<number, number>[] = [new Map()];
  /** Per trie node: indices of the paraphrases of the phrase ending there. */
  private emit: number[][] = [[]];
  private paraphrases: Int32Array[] = [];

  /** @param text The decompressed table: groups of three lines (probability, phrase, paraphrase). */
  constructor(text: string) {
    const lines = text.split("\n");
    for (let i = 0; i + 2 < lines.length; i += 3) {
      const ref = javaTokens(lines[i + 1]).map((w) => this.map(w));
      const par = Int32Array.from(javaTokens(lines[i + 2]), (w) => this.map(w));
      let node = 0;
      for (const w of ref) {
        let next = this.trans[node].get(w);
        if (next === undefined) {
          next = this.trans.length;
          this.trans.push(new Map());
          this.emit.push([]);
          this.trans[node].set(w, next);
        }
        node = next;
      }
      this.emit[node].push(this.paraphrases.length);
      this.paraphrases.push(par);
    }
  }

  private map(word: string): number {
    let id = this.vocab.get(word);
    if (id === undefined) this.vocab.set(word, id = this.vocab.size);
    return id;
  }

  /** Word id, or -1 for a word the table does not know. */
  translate(word: string): number {
    return this.vocab.get(word) ?? -1;
  }

  /** Phrases of `words` starting at `start`: pairs [phrase length, paraphrase index], shortest first. */
  paths(words: ArrayLike<number>, start: number): number[] {
    const out: number[] = [];
    let node = 0;
    for (let i = 0; i < words.length - start; i++) {
      const next = this.trans[node].get(words[start + i]);
      if (next === undefined) break;
      node = next;
      for (const j of this.emit[node]) out.push(i + 1, j);
    }
    return out;
  }

  /** The word ids of paraphrase `index`. */
  paraphrase(index: number): Int32Array {
    return this.paraphrases[index];
  }
}

/** Everything the English Meteor scorer reads from disk. */
export interface MeteorResources {
  functionWords: ReadonlySet<string>;
  synonyms: SynonymDictionary;
  /** Present only when a paraphrase table was given. */
  paraphrase?: ParaphraseTable;
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (e) {
    throw new Error(`Cannot read Meteor ${what} "${path}": ${(e as Error).message}`);
  }
}

/** Reads a gzip file (Meteor's `paraphrase-en.gz`) as UTF-8 text. */
export async function readGzipText(path: string): Promise<string> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path);
  } catch (e) {
    throw new Error(`Cannot read Meteor paraphrase table "${path}": ${(e as Error).message}`);
  }
  const stream = file.readable.pipeThrough(new DecompressionStream("gzip")).pipeThrough(
    new TextDecoderStream(),
  );
  let text = "";
  try {
    for await (const chunk of stream) text += chunk;
  } catch (e) {
    throw new SyntaxError(
      `Cannot read Meteor paraphrase table "${path}": not a gzip file (${(e as Error).message})`,
    );
  }
  return text;
}

/**
 * Loads the English tables from `dir` (`english.words`, `english.synsets`, `english.exceptions`, as in
 * Meteor's `function/` and `synonym/` folders) and, if given, the gzip paraphrase table.
 */
export async function loadMeteorResources(dir: string, paraphrasePath?: string): Promise<MeteorResources> {
  const [words, synsets, exceptions] = await Promise.all([
    readText(join(dir, "english.words"), "function word list"),
    readText(join(dir, "english.synsets"), "synonym table"),
    readText(join(dir, "english.exceptions"), "WordNet exception table"),
  ]);
  // Meteor adds every line of the function word file, as read (an empty line adds "").
  const lines = words.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  const res: MeteorResources = {
    functionWords: new Set(lines.map((l) => l.replace(/\r$/, ""))),
    synonyms: new SynonymDictionary(synsets, exceptions),
  };
  if (paraphrasePath !== undefined) res.paraphrase = new ParaphraseTable(await readGzipText(paraphrasePath));
  return res;
}
