import { deepEqual, equal, ok } from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { generateTable } from "../bench/table.ts";
import { readmeMatches, readRecords } from "./bench_table.ts";

const readme = await Deno.readTextFile(fileURLToPath(new URL("../README.md", import.meta.url)));

Deno.test("README: the benchmark table is what the records in bench/results/ give (deno task bench:table)", async () => {
  const gen = generateTable(await readRecords(), readme);
  ok(readmeMatches(readme, gen), "README.md's table differs from the records: run `deno task bench:table`");
});

Deno.test("bench table: a changed record changes the table, so a hand-edited figure fails the check", async () => {
  const records = await readRecords();
  const gpu = structuredClone(records.get("gpu_h200.json")) as {
    bench: { train: { examplesPerSec: number } };
  };
  gpu.bench.train.examplesPerSec += 10;
  const changed = new Map(records).set("gpu_h200.json", gpu);
  equal(readmeMatches(readme, generateTable(changed, readme)), false);
});

Deno.test("bench table: a new record replaces the kept row and leaves the missing list", async () => {
  const records = new Map(await readRecords()).set("tokenizer_bench.json", {
    script: "bench/tokenizer_bench.ts",
    figures: { uncased_ours_captions_per_s: 800123, uncased_hf_captions_per_s: 70000 },
  });
  const gen = generateTable(records, readme);
  deepEqual(gen.rows[0].slice(1), [
    "800,123 captions/s",
    "`@huggingface/tokenizers` 0.2.0: 70,000 captions/s",
    "11.4x",
  ]);
  ok(!gen.missing.includes("tokenizer_bench.json"));
  equal(readmeMatches(readme, gen), false);
});
