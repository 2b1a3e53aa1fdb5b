/**
 * The scene set's vocabularies: a small WordPiece `vocab.txt` that keeps BERT's special-token ids (VLP
 * hard-codes `[PAD]`=0, `[UNK]`=100, `[CLS]`=101, `[SEP]`=102, `[MASK]`=103), and the 3129-line answer list
 * the VQA head needs (line 0 `<unk>`).
 *
 * @module
 */
import { BasicTokenizer } from "@vlp/tokenizer";
import { UNK, VQA_ANSWERS } from "@vlp/features";

/** BERT's layout of the first 104 ids. */
export function bertSpecialTokens(): string[] {
  const t = ["[PAD]"];
  for (let i = 0; i < 99; i++) t.push(`[unused${i}]`);
  t.push("[UNK]", "[CLS]", "[SEP]", "[MASK]");
  return t;
}

/**
 * A WordPiece vocabulary for the given texts (lowercased): BERT's 104 special ids, every word of the texts
 * (sorted), then single characters and their `##` continuations, so any lowercase ASCII text still
 * tokenizes without `[UNK]`.
 */
export function buildWordpieceVocab(texts: Iterable<string>): string[] {
  const basic = new BasicTokenizer({ lowerCase: true });
  const words = new Set<string>();
  for (const t of texts) for (const w of basic.tokenize(t)) words.add(w);
  const chars = "abcdefghijklmnopqrstuvwxyz0123456789".split("");
  const punct = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~".split("");
  const out = bertSpecialTokens();
  const have = new Set(out);
  const add = (w: string) => {
    if (!have.has(w)) {
      have.add(w);
      out.push(w);
    }
  };
  for (const w of [...words].sort()) add(w);
  for (const c of [...chars, ...punct]) add(c);
  for (const c of chars) add(`##${c}`);
  return out;
}

/**
 * A 3129-answer list with `<unk>` first: the given answers (sorted) followed by placeholder entries that no
 * question uses, so VLP's fixed answer head (A = 3129) fits. Users with the real VQA 2.0 list can use it
 * instead (`make-scenes --answers`); every scene answer is a VQA 2.0 answer.
 */
export function buildAnswerList(answers: Iterable<string>, size = VQA_ANSWERS): string[] {
  const uniq = [...new Set(answers)].filter((a) => a !== UNK).sort();
  if (uniq.length + 1 > size) {
    throw new RangeError(`Cannot fit ${uniq.length} answers into a list of ${size}`);
  }
  const out = [UNK, ...uniq];
  for (let i = 0; out.length < size; i++) out.push(`<unused answer ${i}>`);
  return out;
}
