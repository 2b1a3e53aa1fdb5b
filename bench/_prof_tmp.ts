import { fixturePath } from "@vlp/testing";
import { ptbTokenize } from "@vlp/eval";
import { NgramIds } from "../eval/metrics/ngram_ids.ts";
const data = JSON.parse(Deno.readTextFileSync(fixturePath("data/coco_captions_val2017.json")));
const caps: string[] = data.annotations.map((a: { caption: string }) => a.caption);
const tok = ptbTokenize(caps);
for (let rep = 0; rep < 4; rep++) {
  const t = performance.now();
  const v = new NgramIds(4);
  for (const s of tok) v.cook(s);
  console.log(performance.now() - t);
}
