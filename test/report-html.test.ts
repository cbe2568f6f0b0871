import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";
import { describe, expect, it } from "vitest";
import { runCli, sweepDir, tempDir } from "./cli.js";

// Debian's chromium (installed by .ci/run); the flags keep it off this machine's closed network.
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

describe("report.html in a real headless Chromium", () => {
  it("loads without network, shows the tables and the budget curve, and screenshots", async () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium`).toBe(true);
    const dir = sweepDir(`name: html
prompts: ["a cat", "a <b>bold</b> & \\"quoted\\" prompt"]
seeds: [0, 1, 2]
budgets: [4, 12]
strategies: [{ name: random }, { name: ses, popsize: 4, elites: 2, level: 3 }]
evaluator: { kind: synthetic, shape: [1, 8, 32, 32] }
`);
    const runDir = path.join(dir, "run");
    const r = await runCli(["run", "sweep.yaml", "--run-dir", runDir, "--threads", "2"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);

    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      // Chromium leaves files in its temporary folder: give it one that is removed after the tests.
      env: { ...process.env, TMPDIR: tempDir("sweep-chromium-") },
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const requests: string[] = [];
      page.on("request", (req) => requests.push(req.url()));
      await page.goto(pathToFileURL(path.join(runDir, "report.html")).href);
      expect(requests.every((u) => u.startsWith("file:"))).toBe(true);
      expect(await page.title()).toBe("html: sweep report");
      expect(await page.locator("#status").innerText()).toMatch(/^Complete run\./);
      const tableRows = await page.locator("#tables tbody tr").count();
      expect(tableRows).toBe(2 * 2);
      expect(await page.locator("#tables thead th").allInnerTexts()).toEqual(["strategy", "budget", "n", "mean", "std", "95% CI", "median"]);
      expect(await page.locator("#comparisons tbody tr").count()).toBe(2);
      expect(await page.locator("#per-prompt tbody tr").count()).toBe(2 * 2 * 2);
      // The prompt's markup is text, not HTML.
      expect(await page.locator("#per-prompt").innerText()).toContain('a <b>bold</b> & "quoted" prompt');
      const svg = page.locator("#budget-curve svg");
      expect(await svg.count()).toBe(1);
      const box = await svg.boundingBox();
      expect(box!.width).toBeGreaterThan(400);
      expect(await svg.locator("text", { hasText: "evaluations spent" }).count()).toBeGreaterThan(0);
      const shot = path.join(runDir, "report-screenshot.png");
      await page.screenshot({ path: shot, fullPage: true });
      expect(statSync(shot).size).toBeGreaterThan(10_000);
    } finally {
      await browser.close();
    }
  });
});
