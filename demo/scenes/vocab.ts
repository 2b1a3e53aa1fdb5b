/**
 * The scene set's vocabularies: a small WordPiece `vocab.txt` that keeps BERT's special-token ids (VLP
 * hard-codes `[PAD]`=0, `[UNK]`=100, `[CLS]`=101, `[SEP]`=102, `[MASK]`=103), and the answer list of the VQA
 * head (line 0 `<unk>`).
 *
 * @module
 */
import { BasicTokenizer } from "@vlp/tokenizer";
import { UNK } from "@vlp/features";

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
 * The answer list of a scene set: `<unk>` first, then every answer the questions can have (sorted). As
 * VLP's 3129 answers are the frequent answers of VQA 2.0's training set, these are the answers of the scene
 * set; the model's answer head takes its size from the list (`num_answers` in the demo's `bert_config.json`).
 * Users with the real VQA 2.0 list can use it instead (`make-scenes --answers`): every scene answer is in it.
 */
export function buildAnswerList(answers: Iterable<string>): string[] {
  return [UNK, ...[...new Set(answers)].filter((a) => a !== UNK).sort()];
}
