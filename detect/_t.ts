import { readDetectorConfig } from "./config.ts";
import { loadDetectorWeights } from "./weights.ts";
const cfg = await readDetectorConfig("detect/testdata/small_detector.json");
const w = await loadDetectorWeights("detect/testdata/small_detector.pkl", cfg);
console.log(w.size, w.get("conv1_w")!.slice(0, 3));
