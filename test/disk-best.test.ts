/**
 * A disk that fills while the best images are written at the end of a run: the run still ends
 * completed with evaluations.csv, trials.csv and its report, best/index.csv leaves the images not
 * written empty (no partial PNG passes for one), and the command that renders them is printed; once
 * space is freed, `sweep render --run RUN --best` fills them in. Needs a small tmpfs (root), as
 * disk-full.test.ts; the synthetic tiny FLUX.2 model renders the images.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parse } from "csv-parse/sync";
import { decode } from "fast-png";
import { expect, test } from "vitest";
import { importTinyFlux2, runCli, tempDir } from "./cli.js";
import { mountTmpfs } from "./tmpfs.js";

  // the run's 256 KiB reserve, its manifest and evaluations.csv, and less than the two 12 KiB images
const mnt = mountTmpfs("size=272k");

const csv = (file: string) => parse(readFileSync(file), { columns: true }) as Record<string, string>[];

test.runIf(mnt)("a disk full while best/ is written: the run completes with its CSVs, report and index.csv marking the missing images; sweep render --best fills them in (needs root for a tmpfs)", async () => {
  const root = tempDir("sweep-disk-best-");
  const models = path.join(root, "models");
  await importTinyFlux2(path.join(models, "flux2-tiny"));
  const config = path.join(root, "sweep.yaml");
  writeFileSync(config, "name: disk-best\nprompts: [a cat]\nseeds: [0]\nbudgets: [2]\nstrategies: [{name: random}]\nevaluator: {kind: flux2-pickscore, model: flux2-tiny, height: 64, width: 64, max_batch: 1, steps: 1}\n");
  const runDir = path.join(mnt!, "run");
  const best = path.join(runDir, "best");

  const r = await runCli(["run", config, "--run-dir", runDir, "--model-root", models, "--threads", "1"]);
  expect(r.code, r.stderr).toBe(0);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stderr).toMatch(/cannot write best\/ \(ENOSPC/);
  expect(r.stderr).toMatch(/\d+ best images? missing from best\/ \(not rendered, or not written: .*\); render (it|them) with: (npx )?sweep render --run .*run --best/);
  expect(JSON.parse(readFileSync(path.join(runDir, "manifest.json"), "utf8"))).toMatchObject({ status: "completed", counts: { evaluations: 2 } });
  expect(csv(path.join(runDir, "evaluations.csv"))).toHaveLength(2);
  expect(csv(path.join(runDir, "trials.csv"))).toHaveLength(1);
  expect(existsSync(path.join(runDir, "report.md"))).toBe(true);
  const index = csv(path.join(best, "index.csv"));
  expect(index).toHaveLength(1);
  expect(index[0].image).toBe("");
  expect(existsSync(path.join(runDir, index[0].noise))).toBe(true);
  // an image in best/ is a whole one: a partial file would never be rendered again
  const pngs = () => readdirSync(best).filter((f) => f.endsWith(".png"));
  for (const f of pngs()) expect(() => decode(readFileSync(path.join(best, f))), f).not.toThrow();
  expect(pngs().length).toBeLessThan(2);

  execFileSync("mount", ["-o", "remount,size=16m", mnt!]);
  const rendered = await runCli(["render", "--run", runDir, "--best", "--model-root", models, "--threads", "1"]);
  expect(rendered.code, rendered.stderr).toBe(0);
  const image = csv(path.join(best, "index.csv"))[0].image;
  expect(image).toMatch(/^best\/.*\.png$/);
  expect(decode(readFileSync(path.join(runDir, image)))).toMatchObject({ width: 64, height: 64 });
  // the trial's best and random search's base image of the gallery
  expect(pngs()).toHaveLength(2);
}, 90_000);
