import { equal } from "node:assert/strict";
import { join } from "node:path";
import { shownPath, userPath } from "./paths.ts";

Deno.test("userPath and shownPath: relative to INIT_CWD (where the user ran npx)", () => {
  const before = Deno.env.get("INIT_CWD");
  try {
    Deno.env.set("INIT_CWD", "/home/u/work");
    equal(userPath("data/x.json"), "/home/u/work/data/x.json");
    equal(userPath("/abs/x.json"), "/abs/x.json");
    equal(shownPath("/home/u/work/runs/demo/report.html"), join("runs", "demo", "report.html"));
    equal(shownPath("/elsewhere/report.html"), "/elsewhere/report.html");
  } finally {
    if (before === undefined) Deno.env.delete("INIT_CWD");
    else Deno.env.set("INIT_CWD", before);
  }
});
