import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli, sweepDir, tempDir } from "./cli.js";
import { readCsv } from "./run-results.js";

// Debian's chromium (installed by .ci/run); the flags keep it off this machine's closed network.
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

// Two runs for every check (made once): a complete one with two strategies, and one whose evaluator
// fails for some prompts, with one strategy and more prompts than the per-prompt table shows open.
let browser: Browser;
let runDir: string;
let failingDir: string;
let report: { comparisons: { strategy: string; budget: number; wilcoxon_p: number }[]; tables: { strategy: string; budget: number; mean: number }[] };

beforeAll(async () => {
  expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install chromium`).toBe(true);
  const dir = sweepDir(`name: html
prompts: ["a cat", "a <b>bold</b> & \\"quoted\\" prompt", "a dog", "a fox"]
seeds: [0, 1, 2, 3, 4, 5]
budgets: [4, 12, 30]
strategies: [{ name: random }, { name: ses, popsize: 4, elites: 2, level: 3 }]
evaluator: { kind: synthetic, shape: [1, 8, 32, 32] }
`);
  runDir = path.join(dir, "run");
  const failing = tempDir();
  // Throws for prompt 1 and returns NaN for prompt 2 whenever the noise starts above 0.
  writeFileSync(path.join(failing, "flaky.mjs"), `export default function score({ noise, promptIndex }) {
  if (promptIndex === 1 && noise[0] > 0) throw new Error("reward model exploded on this noise");
  if (promptIndex === 2 && noise[0] > 0) return NaN;
  return noise[1];
}
`);
  writeFileSync(path.join(failing, "sweep.yaml"), `name: flaky
prompts: [${Array.from({ length: 51 }, (_, i) => `"prompt number ${i} ${"with many words ".repeat(i === 0 ? 10 : 0)}"`).join(", ")}]
seeds: [0, 1]
budgets: [3, 6]
strategies: [{ name: random }]
evaluator: { kind: module, path: ./flaky.mjs, shape: [1, 4, 8, 8], retries: 0 }
`);
  failingDir = path.join(failing, "run");
  const [a, b] = await Promise.all([
    runCli(["run", "sweep.yaml", "--run-dir", runDir, "--threads", "2"], { cwd: dir }),
    runCli(["run", "sweep.yaml", "--run-dir", failingDir, "--threads", "2"], { cwd: failing }),
  ]);
  expect(a.code, a.stderr).toBe(0);
  expect(b.code, b.stderr).toBe(1);
  const json = await runCli(["report", runDir, "--format", "json", "--out", path.join(dir, "json")]);
  expect(json.code, json.stderr).toBe(0);
  report = JSON.parse(readFileSync(path.join(dir, "json", "report.json"), "utf8"));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    // Chromium leaves files in its temporary folder: give it one that is removed after the tests.
    env: { ...process.env, TMPDIR: tempDir("sweep-chromium-") },
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
});

async function open(dir: string): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const requests: string[] = [];
  page.on("request", (req) => requests.push(req.url()));
  await page.goto(pathToFileURL(path.join(dir, "report.html")).href);
  expect(requests.every((u) => u.startsWith("file:"))).toBe(true);
  return page;
}

describe("report.html in a real headless Chromium", () => {
  it("loads without network, shows the status, the main table and the budget curve, and screenshots", async () => {
    const page = await open(runDir);
    expect(await page.title()).toBe("html: sweep report");
    expect(await page.locator("#status").innerText()).toMatch(/^Complete run\./);
    expect(await page.locator("#failures").count(), "nothing went wrong").toBe(0);
    expect(await page.locator("#comparisons tbody tr").count()).toBe(3);
    const svg = page.locator("#budget-curve svg");
    expect(await svg.count()).toBe(1);
    expect((await svg.boundingBox())!.width).toBeGreaterThan(400);
    expect(await svg.locator("text", { hasText: "evaluations spent" }).count()).toBeGreaterThan(0);
    const shot = path.join(runDir, "report-screenshot.png");
    await page.screenshot({ path: shot, fullPage: true });
    expect(statSync(shot).size).toBeGreaterThan(10_000);
    await page.close();
  });

  it("draws the legend in the lines' colours, whole-number x ticks, and the budgets marked", async () => {
    const page = await open(runDir);
    const svg = page.locator("#budget-curve svg");
    const lines = await svg.locator('path[aria-roledescription="line mark"]').evaluateAll((els) => els.map((e) => ({
      label: e.getAttribute("aria-label") ?? "", stroke: getComputedStyle(e).stroke, opacity: Number(getComputedStyle(e).opacity),
    })));
    expect(lines).toHaveLength(2);
    const legend = await svg.locator(".role-legend-entry, .role-legend").first().evaluate((root) => {
      const labels = [...root.querySelectorAll(".role-legend-label text")].map((t) => t.textContent);
      const symbols = [...root.querySelectorAll(".role-legend-symbol path")].map((s) => ({ stroke: getComputedStyle(s).stroke, opacity: Number(getComputedStyle(s).opacity) }));
      return labels.map((label, i) => ({ label, ...symbols[i] }));
    });
    expect(legend.map((l) => l.label)).toEqual(["random", "ses"]);
    for (const l of legend) {
      const line = lines.find((x) => x.label.endsWith(`strategy: ${l.label}`))!;
      expect(l.stroke, l.label!).toBe(line.stroke);
      expect(l.opacity).toBe(1);
      expect(line.opacity).toBe(1);
    }
    expect(new Set(legend.map((l) => l.stroke)).size).toBe(2);
    // x axis: whole numbers only, and each budget marked on the plot
    const ticks = await svg.locator('g[aria-label^="X-axis"] .role-axis-label text').allTextContents();
    expect(ticks.length).toBeGreaterThan(2);
    for (const t of ticks) expect(t, "x tick").toMatch(/^\d+$/);
    const marks = await svg.locator("text").allTextContents();
    for (const b of [4, 12, 30]) expect(marks).toContain(`budget ${b}`);
    await page.close();
  });

  it("shows the main table as a pivot, bold best per budget, a marker exactly where the Wilcoxon p < 0.05", async () => {
    const page = await open(runDir);
    expect(await page.locator("#pivot thead th").allInnerTexts()).toEqual(["strategy", "budget 4", "budget 12", "budget 30"]);
    const rows = page.locator("#pivot tbody tr");
    expect(await rows.count()).toBe(2);
    expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("data-strategy")))).toEqual(["random", "ses"]);
    let significant = 0;
    for (const strategy of ["random", "ses"]) {
      for (const budget of [4, 12, 30]) {
        const cell = page.locator(`#pivot tr[data-strategy="${strategy}"] td[data-budget="${budget}"]`);
        const t = report.tables.find((x) => x.strategy === strategy && x.budget === budget)!;
        expect(await cell.innerText()).toMatch(new RegExp(`^${t.mean.toFixed(4)} \\(-?\\d+\\.\\d{4}, -?\\d+\\.\\d{4}\\)`));
        const c = report.comparisons.find((x) => x.strategy === strategy && x.budget === budget);
        const marked = (await cell.locator("sup.sig").count()) === 1;
        expect(marked, `${strategy} at ${budget}`).toBe(c !== undefined && c.wilcoxon_p < 0.05);
        if (marked) significant++;
        const best = Math.max(...report.tables.filter((x) => x.budget === budget).map((x) => x.mean));
        expect(await cell.locator("strong").count(), `bold ${strategy} at ${budget}`).toBe(t.mean === best ? 1 : 0);
      }
    }
    // this sweep has both: significant and not
    expect(significant).toBeGreaterThan(0);
    expect(significant).toBeLessThan(report.comparisons.length);
    await page.close();
  });

  it("describes the experiment: date, tool, sweep file, seeds, budgets, each strategy's options, the workers", async () => {
    const page = await open(runDir);
    const text = await page.locator("#experiment").innerText();
    expect(await page.locator("#experiment-seeds td").innerText()).toBe("0-5 (6 seeds)");
    expect(await page.locator("#experiment-budgets td").innerText()).toBe("4, 12, 30");
    expect(await page.locator("#experiment-prompts td").innerText()).toBe("4");
    expect(await page.locator("#experiment-sweep-file td").innerText()).toBe("sweep.yaml");
    expect(await page.locator("#experiment-fingerprint td").innerText()).toMatch(/^[0-9a-f]{64}$/);
    expect(await page.locator("#experiment-date td").innerText()).toMatch(/^\d{4}-\d\d-\d\dT.* to \d{4}-/);
    expect(text).toMatch(/sweep \d+\.\d+\.\d+/);
    const ses = page.locator('#experiment-strategies tr[data-strategy="ses"]');
    expect(await ses.locator(".option").allInnerTexts()).toEqual(["popsize 4", "elites 2", "wavelet db1", "level 3"]);
    expect(await page.locator('#experiment-strategies tr[data-strategy="random"] td').nth(2).innerText()).toBe("no options");
    expect(await page.locator("#experiment-evaluator td").innerText()).toBe("synthetic, noise shape [1, 8, 32, 32].");
    expect(await page.locator("#experiment-evaluator-settings td").innerText()).toMatch(/^synthetic: shape \[1,8,32,32\], .*; timeout_s 600, retries 2$/);
    expect(await page.locator("#experiment-workers tbody tr").count()).toBe(1);
    expect(await page.locator("#experiment-workers").innerText()).toMatch(/cpu: cpu \/ onnxruntime/);
    expect(await page.locator("#experiment-resumes td").innerText()).toBe("none");
    await page.close();
  });

  it("shows one row per prompt at the largest budget with the difference to the baseline, sorted by it", async () => {
    const page = await open(runDir);
    expect(await page.locator("#per-prompt thead th").allInnerTexts()).toEqual(["prompt", "random", "ses", "ses - random"]);
    expect(await page.locator("#per-prompt-details").getAttribute("open")).not.toBeNull();
    const rows = await page.locator("#per-prompt tbody tr").evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent ?? "")));
    expect(rows).toHaveLength(4);
    const trials = readCsv(runDir, "trials.csv").filter((t) => t.budget === "30");
    const meanOf = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const diffs = rows.map((r) => Number(r[3]));
    expect([...diffs].sort((a, b) => b - a)).toEqual(diffs);
    for (const r of rows) {
      const p = r[0].split(":")[0];
      const of = (s: string) => meanOf(trials.filter((t) => t.prompt_index === p && t.strategy === s).map((t) => Number(t.best_score)));
      expect(Number(r[1])).toBeCloseTo(of("random"), 4);
      expect(Number(r[2])).toBeCloseTo(of("ses"), 4);
      expect(Number(r[3])).toBeCloseTo(of("ses") - of("random"), 4);
    }
    // the prompt's markup is text, not HTML
    expect(await page.locator("#per-prompt").innerText()).toContain('a <b>bold</b> & "quoted" prompt');
    await page.close();
  });

  it("names every failure: the failed trials with their errors; no empty table where one strategy has nothing to match", async () => {
    const page = await open(failingDir);
    expect(await page.locator("#status").innerText()).toMatch(/^INCOMPLETE run \(status failed\)/);
    const trials = readCsv(failingDir, "trials.csv").filter((t) => t.status === "failed");
    expect(trials.length).toBeGreaterThan(0);
    const failedSearches = new Set(trials.map((t) => `${t.prompt_index}/${t.seed}`));
    expect(await page.locator("#failures").innerText()).toMatch(new RegExp(`${trials.length} trials? failed, in ${failedSearches.size} search`));
    const rows = await page.locator("#failed-trials tbody tr").evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll("td")].map((td) => td.textContent ?? "")));
    expect(rows).toHaveLength(failedSearches.size);
    for (const [prompt, strategy, seed, budgets, error] of rows) {
      const p = prompt.split(":")[0];
      const mine = trials.filter((t) => t.prompt_index === p && t.seed === seed);
      expect(strategy).toBe("random");
      expect(budgets).toBe(mine.map((t) => t.budget).join(", "));
      // the error's first lines
      expect(error).toBe(mine[0].error.split("\n").slice(0, 3).join("\n"));
      expect(error).toMatch(p === "1" ? /^eval \d+: reward model exploded on this noise$/ : /^eval \d+: .*NaN/);
    }
    // one strategy: no comparison and nothing to match, said in a sentence instead of an empty table
    expect(await page.locator("#match").count()).toBe(0);
    expect(await page.locator("#no-match").innerText()).toBe("Only one strategy (random): no other strategy to match it.");
    expect(await page.locator("#comparisons").innerText()).toMatch(/No other strategy to compare with random/);
    // over 50 prompts: the per-prompt table starts collapsed, its prompts shortened (whole in the title)
    const details = page.locator("#per-prompt-details");
    expect(await details.getAttribute("open")).toBeNull();
    expect(await page.locator("#per-prompt").isVisible()).toBe(false);
    await details.locator("summary").click();
    expect(await page.locator("#per-prompt").isVisible()).toBe(true);
    expect(await page.locator("#per-prompt tbody tr").count()).toBe(51);
    const long = page.locator("#per-prompt td.prompt", { hasText: "0: prompt number 0" });
    expect((await long.innerText()).length).toBeLessThanOrEqual(64);
    expect(await long.innerText()).toMatch(/…$/);
    expect(await long.getAttribute("title")).toMatch(/with many words with many words with many words with many words with many words/);
    await page.close();
  });
});
