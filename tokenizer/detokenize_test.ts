import assert from "node:assert/strict";
import { detokenize } from "./mod.ts";

Deno.test("detokenize() glues ## pieces onto the previous token as VLP does", () => {
  assert.deepEqual(detokenize(["a", "surf", "##board", "##s", "."]), ["a", "surfboards", "."]);
  assert.deepEqual(detokenize(["##x", "y", "##"]), ["##x", "y"]); // a leading piece stays; "##" adds nothing
  assert.deepEqual(detokenize(["[UNK]", "##s"]), ["[UNK]s"]);
  assert.deepEqual(detokenize([]), []);
});
