import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { stringify } from "csv-stringify/sync";
import { decode, encode } from "fast-png";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BEST_INDEX_COLUMNS, candidateStem, insideRun, readBestFiles } from "../src/results/best-files.js";
import { galleryThumbnails } from "../src/report/generate.js";
import { decode as decodeJpeg } from "jpeg-js";
import { jpegThumbnail, resizeArea, thumbnailSize, toRaster8, toRgbaOverWhite } from "../src/report/thumbnail.js";
import { runCli, sweepDir, tempDir } from "./cli.js";
import { readCsv, type Row } from "./run-results.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

describe("thumbnail resize (area average)", () => {
  it("shrinks 4x4 to 2x2 to the mean of each 2x2 block, per channel", () => {
    // grey + a second channel; blocks by hand: TL (10,20,30,40) -> 25, TR (0,0,0,4) -> 1, BL (255,255,255,255), BR (1,2,3,4) -> 2.5 -> 3
    const grey = [
      10, 20, 0, 0,
      30, 40, 0, 4,
      255, 255, 1, 2,
      255, 255, 3, 4,
    ];
    const data = new Uint8Array(grey.flatMap((v) => [v, 255 - v, 7]));
    const out = resizeArea({ width: 4, height: 4, channels: 3, data }, 2, 2);
    expect(out.width).toBe(2);
    expect(out.height).toBe(2);
    expect([...out.data]).toEqual([25, 230, 7, 1, 254, 7, 255, 0, 7, 3, 253, 7]);
  });

  it("weighs source pixels by the fraction of them a thumbnail pixel covers", () => {
    // 3 -> 2: pixel 0 covers all of s0 and half of s1: (0 + 90 / 2) / 1.5 = 30; pixel 1: (90 / 2 + 180) / 1.5 = 150
    const out = resizeArea({ width: 3, height: 1, channels: 1, data: new Uint8Array([0, 90, 180]) }, 2, 1);
    expect([...out.data]).toEqual([30, 150]);
    // 5 x 1 -> 2 x 1: (10 + 20 + 30 / 2) / 2.5 = 18, (30 / 2 + 40 + 50) / 2.5 = 42
    const out2 = resizeArea({ width: 5, height: 1, channels: 1, data: new Uint8Array([10, 20, 30, 40, 50]) }, 2, 1);
    expect([...out2.data]).toEqual([18, 42]);
  });

  it("averages colour weighted by alpha (a transparent pixel's colour does not bleed)", () => {
    const data = new Uint8Array([255, 0, 0, 255, 0, 0, 255, 0]);
    const out = resizeArea({ width: 2, height: 1, channels: 4, data }, 1, 1);
    expect([...out.data]).toEqual([255, 0, 0, 128]);
  });

  it("sizes thumbnails to 192 px on the long side, never larger than the image", () => {
    expect(thumbnailSize(1024, 1024)).toEqual({ width: 192, height: 192 });
    expect(thumbnailSize(1024, 768)).toEqual({ width: 192, height: 144 });
    expect(thumbnailSize(500, 1000)).toEqual({ width: 96, height: 192 });
    expect(thumbnailSize(64, 48)).toEqual({ width: 64, height: 48 });
  });

  it("makes a JPEG thumbnail that decodes to the image's colours, and keeps noisy images under the byte limit", () => {
    const flat = new Uint8Array(1024 * 1024 * 3);
    for (let i = 0; i < flat.length; i += 3) flat.set([12, 200, 99], i);
    const t = jpegThumbnail(encode({ width: 1024, height: 1024, data: flat, channels: 3, depth: 8 }));
    const back = decodeJpeg(t.jpeg, { useTArray: true });
    expect([back.width, back.height, t.quality]).toEqual([192, 192, 80]);
    // lossy, but a flat colour comes back within a level or two
    for (let i = 0; i < back.data.length; i += 4) {
      for (const [k, v] of [12, 200, 99].entries()) expect(Math.abs(back.data[i + k] - v)).toBeLessThanOrEqual(2);
    }
    // pure noise: the worst case for any encoder; the thumbnail still fits its limit
    let s = 1;
    const noise = new Uint8Array(512 * 512 * 3).map(() => ((s = (s * 1103515245 + 12345) >>> 0) >>> 24));
    const n = jpegThumbnail(encode({ width: 512, height: 512, data: noise, channels: 3, depth: 8 }), { maxBytes: 20_000 });
    expect(n.jpeg.length).toBeLessThanOrEqual(20_000);
    expect(decodeJpeg(n.jpeg, { useTArray: true }).width).toBe(n.width);
  });

  it("reads palette, 16-bit and grey+alpha PNGs, and puts transparency over white for the JPEG", () => {
    const pal = encode({ width: 2, height: 1, data: new Uint8Array([0, 1]), channels: 1, depth: 8, palette: [[255, 0, 0], [0, 0, 255]] });
    expect([...toRaster8(decode(pal)).data]).toEqual([255, 0, 0, 0, 0, 255]);
    const deep = encode({ width: 1, height: 1, data: new Uint16Array([65535, 257, 0]), channels: 3, depth: 16 });
    expect([...toRaster8(decode(deep)).data]).toEqual([255, 1, 0]);
    const ga = toRaster8(decode(encode({ width: 1, height: 1, data: new Uint8Array([9, 200]), channels: 2, depth: 8 })));
    expect([...ga.data]).toEqual([9, 200]);
    // 9 at 200/255 over white: 9 * 200/255 + 255 * 55/255 = 62.06
    expect([...toRgbaOverWhite(ga)]).toEqual([62, 62, 62, 255]);
    expect([...toRgbaOverWhite({ width: 1, height: 1, channels: 4, data: new Uint8Array([255, 0, 0, 0]) })]).toEqual([255, 255, 255, 255]);
  });
});

/** A w x h PNG of one colour. */
function flatPng(w: number, h: number, rgb: number[]): Uint8Array {
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < data.length; i += 3) data.set(rgb, i);
  return encode({ width: w, height: h, data, channels: 3, depth: 8 });
}

describe("report.html gallery in a real headless Chromium", () => {
  let dir: string;
  let runDir: string;
  let browser: Browser;
  const colours = new Map<string, number[]>(); // image path (relative to the run) -> its colour
  let trials: Row[];
  let evaluations: Row[];
  // a (prompt, seed) without its base image (one whose random search's best is never eval 0)
  let missing: { p: number; seed: number };

  beforeAll(async () => {
    dir = sweepDir(`name: gallery
prompts: ["a cat", "a <b>bold</b> & \\"quoted\\" prompt"]
seeds: [0, 1]
budgets: [4, 8]
strategies: [{ name: random, label: rnd }, { name: ses, popsize: 4, elites: 2, level: 3 }]
evaluator: { kind: synthetic, shape: [1, 8, 32, 32] }
`);
    runDir = path.join(dir, "run");
    const r = await runCli(["run", "sweep.yaml", "--run-dir", runDir, "--threads", "2"], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    trials = readCsv(runDir, "trials.csv");
    evaluations = readCsv(runDir, "evaluations.csv");
    const noBest0 = [[1, 1], [1, 0], [0, 1], [0, 0]].find(([p, seed]) => !trials.some((t) => t.strategy === "rnd" && t.prompt_index === String(p) && t.seed === String(seed) && t.best_eval_index === "0"));
    expect(noBest0, "some random search's best is not its eval 0").toBeDefined();
    missing = { p: noBest0![0], seed: noBest0![1] };
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
      // Chromium leaves files in its temporary folder: give it one that is removed after the tests.
      env: { ...process.env, TMPDIR: tempDir("sweep-chromium-") },
    });
  });
  afterAll(async () => {
    await browser?.close();
  });

  it("keeps the no-images sentence for a run without best images", async () => {
    const page = await browser.newPage();
    await page.goto(pathToFileURL(path.join(runDir, "report.html")).href);
    expect(await page.locator("#gallery").innerText()).toMatch(/produces scores only, no images/);
    expect(await page.locator("#gallery img").count()).toBe(0);
    await page.close();
  });

  it("shows per (prompt, seed) the base image and each strategy's best at the largest budget, with scores", async () => {
    // best/ as the coordinator writes it: index.csv (every trial) and PNGs in distinct colours
    const best = path.join(runDir, "best");
    mkdirSync(best);
    let n = 0;
    const png = (rel: string, size: [number, number]) => {
      if (colours.has(rel)) return;
      const rgb = [(40 + n * 67) % 256, (90 + n * 151) % 256, (200 + n * 29) % 256];
      n++;
      colours.set(rel, rgb);
      writeFileSync(path.join(runDir, rel), flatPng(size[0], size[1], rgb));
    };
    const rows: (string | number)[][] = [[...BEST_INDEX_COLUMNS]];
    let big = false;
    // largest budget first, so the large image is one the gallery shows
    for (const t of [...trials].sort((a, b) => Number(b.budget) - Number(a.budget))) {
      const stem = candidateStem(`p${t.prompt_index}/${t.strategy}/s${t.seed}`, Number(t.best_eval_index));
      // one image in the gallery larger than a thumbnail (resized), the others small
      const large: boolean = !big && t.budget === "8";
      big ||= large;
      png(`best/${stem}.png`, large ? [400, 300] : [40, 30]);
      rows.push([t.prompt_index, t.prompt, t.strategy, t.seed, t.budget, t.status, t.best_eval_index, t.best_score, t.best_noise_seed, `best/${stem}.npy`, `best/${stem}.png`]);
    }
    writeFileSync(path.join(best, "index.csv"), stringify(rows));
    for (const p of [0, 1]) for (const seed of [0, 1]) {
      const rel = `best/${candidateStem(`p${p}/rnd/s${seed}`, 0)}.png`;
      if (p !== missing.p || seed !== missing.seed) png(rel, [48, 48]);
    }

    const out = path.join(dir, "elsewhere");
    const r = await runCli(["report", runDir, "--format", "json", "--out", out]);
    expect(r.code, r.stderr).toBe(0);
    const r2 = await runCli(["report", runDir]);
    expect(r2.code, r2.stderr).toBe(0);

    // JSON: paths, not bytes
    const data = JSON.parse(readFileSync(path.join(out, "report.json"), "utf8"));
    expect(data.gallery.index).toBe("best/index.csv");
    expect(data.gallery.budgets).toEqual([4, 8]);
    expect(data.gallery.base_strategy).toBe("rnd");
    expect(data.gallery.rows).toHaveLength(4);
    // per (prompt, seed): 2 strategies x 2 budgets, and 3 of the 4 base images
    expect(data.gallery.images).toBe(4 * 4 + 3);
    expect(JSON.stringify(data.gallery)).not.toMatch(/base64/);
    const rowMissing = data.gallery.rows.find((x: { prompt_index: number; seed: number }) => x.prompt_index === missing.p && x.seed === missing.seed);
    expect(rowMissing.base).toEqual({ image: null, score: Number(evaluations.find((e) => e.search_id === `p${missing.p}/rnd/s${missing.seed}` && e.eval_index === "0")!.score), search_id: `p${missing.p}/rnd/s${missing.seed}` });
    for (const row of data.gallery.rows) {
      const id = `p${row.prompt_index}/rnd/s${row.seed}`;
      if (row === rowMissing) continue;
      expect(row.base).toEqual({ image: `best/${candidateStem(id, 0)}.png`, score: Number(evaluations.find((e) => e.search_id === id && e.eval_index === "0")!.score), search_id: id });
    }
    const row00 = data.gallery.rows[0];
    expect(row00.strategies.map((s: { strategy: string; budget: number }) => `${s.strategy}@${s.budget}`)).toEqual(["rnd@4", "rnd@8", "ses@4", "ses@8"]);
    for (const row of data.gallery.rows) {
      const scores = row.strategies.map((s: { score: number }) => s.score);
      expect(row.strategies[row.top].score).toBe(Math.max(...scores));
      expect(scores.indexOf(Math.max(...scores))).toBe(row.top);
    }

    // markdown names best/index.csv
    const md = readFileSync(path.join(runDir, "report.md"), "utf8");
    expect(md).toMatch(/## Best images\n\n.*\[best\/index\.csv\]\(best\/index\.csv\)/);
    expect(readFileSync(path.join(out, "report.md"), "utf8")).toMatch(/\[best\/index\.csv\]\(\.\.\/run\/best\/index\.csv\)/);

    for (const [reportDir, label] of [[runDir, "in the run folder"], [out, "with --out elsewhere"]] as const) {
      const file = path.join(reportDir, "report.html");
      expect(readFileSync(file, "utf8")).toContain(`content="${CSP}"`);
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const requests: string[] = [];
      page.on("request", (req) => requests.push(req.url()));
      await page.goto(pathToFileURL(file).href);
      await page.waitForLoadState("load");
      expect(requests.every((u) => u.startsWith("file:") || u.startsWith("data:")), label).toBe(true);

      const imgs = page.locator("#gallery img");
      expect(await imgs.count(), label).toBe(4 * 4 + 3);
      const shown = await imgs.evaluateAll((els) => els.map((el) => {
        const img = el as HTMLImageElement;
        const canvas = document.createElement("canvas");
        canvas.width = img.naturalWidth;
        canvas.height = img.naturalHeight;
        const ctx = canvas.getContext("2d")!;
        ctx.drawImage(img, 0, 0);
        const px = img.naturalWidth > 0 ? [...ctx.getImageData(Math.floor(img.naturalWidth / 2), Math.floor(img.naturalHeight / 2), 1, 1).data.slice(0, 3)] : [];
        return { naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight, complete: img.complete, src: img.src.slice(0, 22), href: (img.closest("a") as HTMLAnchorElement).href, px };
      }));
      for (const s of shown) {
        expect(s.complete && s.naturalWidth > 0, label).toBe(true);
        expect(Math.max(s.naturalWidth, s.naturalHeight)).toBeLessThanOrEqual(192);
        expect(s.src).toBe("data:image/jpeg;base64");
        // the link opens the full-size file, and the thumbnail is that file's image (JPEG: within a few levels)
        const target = path.relative(runDir, fileURLToPath(s.href)).split(path.sep).join("/");
        const rgb = colours.get(target);
        expect(rgb, `${label}: ${s.href}`).toBeDefined();
        for (let k = 0; k < 3; k++) expect(Math.abs(rgb![k] - s.px[k]), `${label}: ${s.href} channel ${k}`).toBeLessThanOrEqual(4);
      }
      expect(shown.some((s) => s.naturalWidth === 192 && s.naturalHeight === 144)).toBe(true);

      // one row per (prompt, seed): its base image and each strategy's best with score and eval index
      const rows = page.locator("#gallery tbody tr");
      expect(await rows.count()).toBe(4);
      for (const p of [0, 1]) for (const seed of [0, 1]) {
        const row = page.locator(`#gallery tr[data-prompt-index="${p}"][data-seed="${seed}"]`);
        expect(await row.locator("td.prompt").innerText()).toBe(p === 0 ? "0: a cat" : '1: a <b>bold</b> & "quoted" prompt');
        const base = row.locator("td.base");
        const baseScore = Number(evaluations.find((e) => e.search_id === `p${p}/rnd/s${seed}` && e.eval_index === "0")!.score);
        expect(await base.locator(".score").innerText()).toBe(`score ${baseScore.toFixed(4)}`);
        if (p === missing.p && seed === missing.seed) {
          expect(await base.locator("img").count()).toBe(0);
          expect(await base.innerText()).toMatch(/no image/);
        } else {
          expect(await base.locator("img").count()).toBe(1);
          expect(await base.locator("a").getAttribute("href")).toMatch(new RegExp(`best/p${p}_rnd_s${seed}_e0\\.png$`));
        }
        const cells = row.locator("td.best");
        expect(await cells.count()).toBe(4);
        const mine = trials.filter((x) => x.prompt_index === String(p) && x.seed === String(seed));
        const top = Math.max(...mine.map((x) => Number(x.best_score)));
        // the best of the row marked: the first cell with the row's highest score
        const marked = row.locator("td.best.top");
        expect(await marked.count()).toBe(1);
        expect(await marked.locator(".mark").innerText()).toBe("best of row");
        expect(await marked.locator(".score").innerText()).toBe(`score ${top.toFixed(4)}`);
        for (const [i, [strategy, budget]] of [["rnd", "4"], ["rnd", "8"], ["ses", "4"], ["ses", "8"]].entries()) {
          const t = mine.find((x) => x.strategy === strategy && x.budget === budget)!;
          const cell = cells.nth(i);
          expect(await cell.getAttribute("data-strategy")).toBe(strategy);
          expect(await cell.getAttribute("data-budget")).toBe(budget);
          expect(await cell.locator("img").count()).toBe(1);
          expect(await cell.locator(".score").innerText()).toBe(`score ${Number(t.best_score).toFixed(4)}`);
          expect(await cell.locator(".eval").innerText()).toBe(`eval ${t.best_eval_index}`);
          expect(await cell.locator("a").getAttribute("href")).toMatch(new RegExp(`best/${candidateStem(`p${p}/${strategy}/s${seed}`, Number(t.best_eval_index))}\\.png$`));
        }
      }
      expect(await page.locator("#gallery thead th").allInnerTexts()).toEqual(["prompt", "seed", "base noise (rnd eval 0)", "rnd best", "ses best", "budget 4", "budget 8", "budget 4", "budget 8"]);
      await page.screenshot({ path: path.join(reportDir, "gallery-screenshot.png"), fullPage: true });
      await page.close();
    }
  });
});

describe("best files for the gallery", () => {
  it("takes only paths inside the run folder", () => {
    expect(insideRun("best/a.png")).toBe("best/a.png");
    expect(insideRun("best/../best/a.png")).toBe("best/a.png");
    expect(insideRun("best\\a.png")).toBe("best/a.png");
    for (const bad of ["", "../x.png", "best/../../x.png", "/etc/x.png", "C:/x.png", "."]) expect(insideRun(bad), bad).toBeNull();
  });

  it("refuses a best/index.csv without the contract's columns, and says why an image is unreadable", () => {
    const run = tempDir();
    mkdirSync(path.join(run, "best"));
    writeFileSync(path.join(run, "best", "index.csv"), "prompt_index,strategy,seed,budget,image\n0,random,0,4,best/x.png\n");
    expect(() => readBestFiles(run)).toThrow(/index\.csv lacks the columns prompt, trial_status, best_eval_index, best_score, best_noise_seed, noise/);
    writeFileSync(path.join(run, "best", "broken.png"), "not a png");
    writeFileSync(path.join(run, "best", "ok.png"), flatPng(3, 2, [1, 2, 3]));
    const gallery = {
      index: null, budgets: [4], base_strategy: "random", images: 2,
      rows: [{ prompt_index: 0, prompt: "x", seed: 0, base: { image: "best/ok.png", score: 1, search_id: "p0/random/s0" }, strategies: [{ strategy: "random", budget: 4, image: "best/broken.png", score: 2, eval_index: 1, trial_status: "ok" }], top: 0 }],
    };
    const thumbs = galleryThumbnails(run, gallery);
    expect(thumbs.get("best/ok.png")).toMatchObject({ width: 3, height: 2 });
    expect(thumbs.get("best/broken.png")).toHaveProperty("error");
  });
});
