import assert from "node:assert/strict";
import { DynamicLossScale } from "./loss_scale.ts";

Deno.test("dynamic loss scale: starts at 2^16, halves and skips on an overflow, doubles after 1000 clean steps", () => {
  const s = new DynamicLossScale();
  assert.equal(s.scale, 65536);
  assert.equal(s.update(true), false); // overflow: skip, halve
  assert.equal(s.scale, 32768);
  for (let i = 0; i < 999; i++) assert.equal(s.update(false), true);
  assert.equal(s.scale, 32768); // 999 clean steps: not yet
  assert.equal(s.update(false), true);
  assert.equal(s.scale, 65536); // the 1000th doubles
  s.update(false);
  assert.equal(s.update(true), false); // an overflow resets the clean count
  assert.equal(s.scale, 32768);
  assert.equal(s.cleanSteps, 0);
  assert.equal(s.overflows, 2);
});

Deno.test("dynamic loss scale: never below 1", () => {
  const s = new DynamicLossScale(4, 10);
  for (let i = 0; i < 5; i++) s.update(true);
  assert.equal(s.scale, 1);
});
