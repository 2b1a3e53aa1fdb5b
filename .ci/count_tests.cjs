// Counts test cases in Deno's JUnit report and prints "N passed, N failed" (the last line of CI).
// A failed lint/format/type check (second argument, non-zero) counts as one more failure.
"use strict";
const fs = require("node:fs");
const [file, okStatus = "0"] = process.argv.slice(2);
let passed = 0, failed = 0;
if (fs.existsSync(file)) {
  const xml = fs.readFileSync(file, "utf8");
  for (const m of xml.matchAll(/<testcase\b[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g)) {
    const body = m[2] ?? "";
    if (/<failure\b|<error\b/.test(body)) failed++;
    else if (!/<skipped\b/.test(body)) passed++;
  }
} else {
  console.error(`no JUnit report at ${file}: the test run did not start`);
  failed++;
}
if (okStatus !== "0") failed++;
console.log(`${passed} passed, ${failed} failed`);
