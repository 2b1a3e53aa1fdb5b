import assert from "node:assert/strict";
import { VLP_DIMS } from "@vlp/features";
import { bertBaseConfig } from "./config.ts";
import { DecodeSchedule } from "./decode_schedule.ts";
import { LEN_VIS_INPUT, MAX_LEN_B, MAX_TGT_LENGTH, SPECIAL_IDS } from "./defaults.ts";

Deno.test("the original's defaults: one value wherever a member repeats them", () => {
  // @vlp/features is a leaf member and keeps its own copy of R
  assert.equal(VLP_DIMS.R, LEN_VIS_INPUT);
  assert.equal(bertBaseConfig.regions, LEN_VIS_INPUT);
  // training sequences: [CLS] + R regions + [SEP] + text + [SEP] = 123 (spec §3)
  assert.equal(1 + LEN_VIS_INPUT + 1 + MAX_LEN_B + 1, 123);
  // a decode: A = R + 2 prompt positions, then max_tgt_length generated ones (122, spec §5.1)
  const s = new DecodeSchedule(
    { R: LEN_VIS_INPUT, F: 4, G: 4, maxPositions: 512 },
    { maxImages: 1 },
  );
  assert.equal(s.maxLength, LEN_VIS_INPUT + 2 + MAX_TGT_LENGTH);
  assert.equal(s.maxLength, 122);
  assert.ok(Object.isFrozen(SPECIAL_IDS));
  assert.deepEqual({ ...SPECIAL_IDS }, { pad: 0, unk: 100, cls: 101, sep: 102, mask: 103 });
});
