import assert from "node:assert/strict";
import { BasicTokenizer } from "./mod.ts";
import { referenceBasicTokenize } from "./reference.ts";

Deno.test("BasicTokenizer follows BERT's steps in both modes", () => {
  const lower = new BasicTokenizer({ lowerCase: true });
  const keep = new BasicTokenizer({ lowerCase: false });
  const text = " \tHeLLo!How  are\u00a0you?\u0000 [MASK] naïve\u0301 Ångström 中文 ﬁ ½ x\u2029y ΟΔΟΣ ";
  assert.deepEqual(lower.tokenize(text), [
    "hello",
    "!",
    "how",
    "are",
    "you",
    "?",
    "[MASK]",
    "naive",
    "angstrom",
    "中",
    "文",
    "ﬁ",
    "½",
    "x",
    "y",
    "οδος",
  ]);
  assert.deepEqual(keep.tokenize(text).slice(0, 9), [
    "HeLLo",
    "!",
    "How",
    "are",
    "you",
    "?",
    "[MASK]",
    "naïve\u0301",
    "Ångström",
  ]);
  for (const t of [lower, keep]) {
    assert.deepEqual(t.tokenize(text), referenceBasicTokenize(text, t.lowerCase));
  }
  assert.deepEqual(lower.tokenize("\u0301\u0302 a"), ["a"]); // a token of marks only vanishes
  assert.deepEqual(keep.tokenize("\u0301\u0302 a"), ["\u0301\u0302", "a"]);
});
