/**
 * Browser test of the HTML report: headless Chromium opens a rendered report and checks that captions,
 * charts and scene drawings render; the screenshot is kept as a test artefact in `out/browser_test/`.
 * Skipped with a message when Chromium is missing, unless `VLP_REQUIRE_BROWSER=1` (CI), where it must run.
 */
import { deepEqual, equal, ok } from "node:assert/strict";
import { join } from "node:path";
import { ARTEFACTS, checkReportInBrowser, chromiumAvailable, chromiumPath } from "./browser.ts";
import { renderReport } from "./html.ts";
import { sampleReportData } from "./sample_data.ts";

const required = Deno.env.get("VLP_REQUIRE_BROWSER") === "1";
const available = chromiumAvailable();
if (!available && !required) {
  console.warn(
    `browser_test: skipped, no Chromium at ${chromiumPath()} (apt-get install chromium; CI sets VLP_REQUIRE_BROWSER=1)`,
  );
}

Deno.test({
  name: "report in headless Chromium: captions, charts and scenes render, nothing external, screenshot saved",
  ignore: !available && !required,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    ok(available, `VLP_REQUIRE_BROWSER=1 but no Chromium at ${chromiumPath()}`);
    await Deno.mkdir(ARTEFACTS, { recursive: true });
    const data = sampleReportData();
    const html = join(ARTEFACTS, "index.html");
    await Deno.writeTextFile(html, renderReport(data));
    const shot = join(ARTEFACTS, "report.png");
    const seen = await checkReportInBrowser(html, shot);
    equal(seen.title, data.title);
    deepEqual(seen.captions, data.samples.map((s) => s.generated));
    equal(seen.references, data.samples.reduce((n, s) => n + s.references.length, 0));
    deepEqual(seen.chartLines.map((l) => l.name), ["loss", "CIDEr"]);
    for (const l of seen.chartLines) {
      ok(l.width > 100 && l.height > 20, `chart line ${l.name} drawn: ${l.width}×${l.height}`);
    }
    deepEqual(seen.scenes.map((s) => s.shapes), data.samples.map((s) => s.scene.objects.length));
    for (const s of seen.scenes) ok(s.width > 100);
    ok(seen.metricRows >= 10);
    deepEqual(seen.externalRequests, []);
    deepEqual(seen.consoleErrors, []);
    ok(seen.screenshotBytes > 10_000);
    ok((await Deno.stat(shot)).size === seen.screenshotBytes);
  },
});
