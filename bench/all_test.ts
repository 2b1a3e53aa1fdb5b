import { deepEqual, ok } from "node:assert/strict";
import { SCRIPTS } from "./all.ts";

Deno.test("deno task bench runs every bench script of bench/ (none forgotten)", async () => {
  const scripts: string[] = [];
  for await (const e of Deno.readDir(new URL("./", import.meta.url))) {
    if (!e.isFile || !e.name.endsWith(".ts") || e.name.endsWith("_test.ts") || e.name === "all.ts") continue;
    const text = await Deno.readTextFile(new URL(e.name, import.meta.url));
    if (/reportFigures\(\s*import\.meta\.url/.test(text)) scripts.push(e.name); // a script ending with figures
  }
  ok(scripts.length >= 8, scripts.join(", "));
  deepEqual(SCRIPTS.map((s) => s.script).sort(), scripts.sort());
});
