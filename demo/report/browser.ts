/**
 * Open a report in headless Chromium (Debian's `chromium`, driven by `playwright-core`) and check that it
 * renders: captions visible with text, every chart's lines drawn, scene drawings drawn, the metric table
 * present, no request leaving the file, no console errors. Saves a full-page screenshot.
 *
 * @module
 */
import { chromium } from "playwright-core";
import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** Folder of the browser tests' artefacts (screenshots): the gitignored `out/browser_test/` at the root. */
export const ARTEFACTS: string = fileURLToPath(new URL("../../out/browser_test/", import.meta.url));

/** Where Debian installs Chromium (override with `VLP_CHROMIUM`). */
export function chromiumPath(): string {
  return Deno.env.get("VLP_CHROMIUM") ?? "/usr/bin/chromium";
}

/** True when the Chromium executable exists. */
export function chromiumAvailable(): boolean {
  try {
    return Deno.statSync(chromiumPath()).isFile;
  } catch {
    return false;
  }
}

/** What the browser saw. */
export interface BrowserCheck {
  title: string;
  /** Text of every generated caption (`.gen.caption`), as rendered. */
  captions: string[];
  /** Reference caption items rendered. */
  references: number;
  /** Rendered width × height of every chart line (px). */
  chartLines: { name: string; width: number; height: number }[];
  /** Rendered scene drawings (px width) and their shape elements. */
  scenes: { width: number; shapes: number }[];
  metricRows: number;
  /** Requests to anything but the report file itself (blocked). */
  externalRequests: string[];
  consoleErrors: string[];
  screenshotBytes: number;
}

const ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** Open `htmlPath` in headless Chromium, collect {@linkcode BrowserCheck}, save a PNG to `screenshotPath`. */
export async function checkReportInBrowser(htmlPath: string, screenshotPath: string): Promise<BrowserCheck> {
  const profile = await Deno.makeTempDir({ prefix: "vlp_chromium_" });
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath(),
    headless: true,
    args: ARGS,
    viewport: { width: 1280, height: 900 },
  });
  try {
    const page = await ctx.newPage();
    const url = pathToFileURL(resolve(htmlPath)).href;
    const externalRequests: string[] = [], consoleErrors: string[] = [];
    await page.route("**/*", (route) => {
      if (route.request().url() === url) return route.continue();
      externalRequests.push(route.request().url());
      return route.abort();
    });
    page.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(m.text());
    });
    page.on("pageerror", (e) => consoleErrors.push(String(e)));
    await page.goto(url, { waitUntil: "load", timeout: 30_000 });
    const captions = await page.locator(".gen.caption").allInnerTexts();
    const references = await page.locator("ol.refs li").count();
    const chartLines: BrowserCheck["chartLines"] = [];
    for (const line of await page.locator("svg.chart polyline.series").all()) {
      const box = await line.boundingBox();
      chartLines.push({
        name: (await line.getAttribute("data-name")) ?? "",
        width: box?.width ?? 0,
        height: box?.height ?? 0,
      });
    }
    const scenes: BrowserCheck["scenes"] = [];
    for (const svg of await page.locator("svg.scene").all()) {
      const box = await svg.boundingBox();
      scenes.push({
        width: box?.width ?? 0,
        shapes: await svg.locator("circle, polygon, rect:not(.det):not(.clutter)").count() - 1,
      });
    }
    const metricRows = await page.locator("#metrics tbody tr").count();
    const png = await page.screenshot({ path: screenshotPath, fullPage: true });
    return {
      title: await page.title(),
      captions,
      references,
      chartLines,
      scenes,
      metricRows,
      externalRequests,
      consoleErrors,
      screenshotBytes: png.length,
    };
  } finally {
    await ctx.close();
    await Deno.remove(profile, { recursive: true }).catch(() => {});
  }
}
