/**
 * WordPiece vocabulary: one token per line of a `vocab.txt`, id = line number, with VLP's renames.
 *
 * @module
 */
import { isPythonSpace } from "./chars.ts";

/**
 * VLP's `load_vocab` renames: `[unused1]` becomes `[X_SEP]` and `[unused2]`..`[unused11]` become
 * `[SEP_0]`..`[SEP_9]`. The ids do not change.
 */
export const VLP_RENAMES: ReadonlyMap<string, string> = new Map([
  ["[unused1]", "[X_SEP]"],
  ...Array.from({ length: 10 }, (_, i) => [`[unused${i + 2}]`, `[SEP_${i}]`] as [string, string]),
]);

/** Strips leading and trailing whitespace as Python's `str.strip()` does. */
function pythonStrip(s: string): string {
  let a = 0, b = s.length;
  while (a < b && isPythonSpace(s.charCodeAt(a))) a++;
  while (b > a && isPythonSpace(s.charCodeAt(b - 1))) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

/**
 * A token ↔ id table. Ids are dense, `0..size-1`, in file order.
 *
 * @example
 * ```ts
 * import { Vocab } from "@vlp/tokenizer";
 * const vocab = Vocab.parse("[PAD]\n[unused1]\n[UNK]\nhello\n##s\n", "tiny.txt");
 * console.log(vocab.size, vocab.id("hello"), vocab.token(1)); // 5 3 "[X_SEP]"
 * ```
 */
export class Vocab {
  /** Token of each id. */
  readonly tokens: readonly string[];
  /** Where the vocabulary came from (a file name), for error messages. */
  readonly source: string;
  readonly #ids: Map<string, number>;

  private constructor(tokens: string[], ids: Map<string, number>, source: string) {
    this.tokens = tokens;
    this.#ids = ids;
    this.source = source;
  }

  /** Number of tokens (V). */
  get size(): number {
    return this.tokens.length;
  }

  /** Id of a token, or `undefined` when it is not in the vocabulary. */
  id(token: string): number | undefined {
    return this.#ids.get(token);
  }

  /** True when the token is in the vocabulary. */
  has(token: string): boolean {
    return this.#ids.has(token);
  }

  /** Token of an id; throws a `RangeError` for an id outside `0..size-1`. */
  token(id: number): string {
    const t = this.tokens[id];
    if (t === undefined || !Number.isInteger(id)) {
      throw new RangeError(
        `Cannot convert id to token: id ${id} is outside the vocabulary "${this.source}" (0..${
          this.tokens.length - 1
        })`,
      );
    }
    return t;
  }

  /**
   * Parses the text of a `vocab.txt`: one token per line (`\n`, `\r\n` or `\r`), surrounding whitespace stripped,
   * VLP's renames applied ({@link VLP_RENAMES}). A final newline is allowed. Throws a `SyntaxError` naming
   * `source` and the line for an empty file, a blank line, a token with whitespace inside, or a token that
   * appears twice.
   *
   * @param text the file's contents
   * @param source the file name, used in error messages
   * @param renames token renames to apply (default VLP's; pass an empty Map for none)
   */
  static parse(text: string, source: string, renames: ReadonlyMap<string, string> = VLP_RENAMES): Vocab {
    const lines = text.split(/\r\n|\r|\n/); // Python's universal newlines
    if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
    if (lines.length === 0) {
      throw new SyntaxError(
        `Cannot load vocabulary "${source}": the file is empty, expected one token per line`,
      );
    }
    const tokens: string[] = new Array(lines.length);
    const ids = new Map<string, number>();
    for (let i = 0; i < lines.length; i++) {
      let token = pythonStrip(lines[i]);
      const where = `Cannot load vocabulary "${source}": line ${i + 1}`;
      if (token === "") throw new SyntaxError(`${where} is blank, expected one token per line`);
      for (let k = 0; k < token.length; k++) {
        if (isPythonSpace(token.charCodeAt(k))) {
          throw new SyntaxError(`${where} holds whitespace inside the token ${JSON.stringify(token)}`);
        }
      }
      token = renames.get(token) ?? token;
      const prev = ids.get(token);
      if (prev !== undefined) {
        throw new SyntaxError(`${where} repeats the token ${JSON.stringify(token)} of line ${prev + 1}`);
      }
      tokens[i] = token;
      ids.set(token, i);
    }
    return new Vocab(tokens, ids, source);
  }

  /**
   * Reads and parses a `vocab.txt` (UTF-8). Throws a `SyntaxError` naming the file for invalid UTF-8 or a
   * malformed line (see {@link Vocab.parse}).
   *
   * @example
   * ```ts ignore
   * import { Vocab } from "@vlp/tokenizer";
   * const vocab = await Vocab.load("../shared/data/bert-base-uncased-vocab.txt");
   * console.log(vocab.size); // 30522
   * ```
   */
  static async load(path: string, renames: ReadonlyMap<string, string> = VLP_RENAMES): Promise<Vocab> {
    return Vocab.decode(await Deno.readFile(path), path, renames);
  }

  /** Synchronous twin of {@link Vocab.load}. */
  static loadSync(path: string, renames: ReadonlyMap<string, string> = VLP_RENAMES): Vocab {
    return Vocab.decode(Deno.readFileSync(path), path, renames);
  }

  /** Decodes UTF-8 bytes (a leading BOM is ignored) and parses them. */
  static decode(
    bytes: Uint8Array,
    source: string,
    renames: ReadonlyMap<string, string> = VLP_RENAMES,
  ): Vocab {
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      throw new SyntaxError(`Cannot load vocabulary "${source}": the file is not valid UTF-8`);
    }
    return Vocab.parse(text, source, renames);
  }
}
