// Bad run files and bad paths (issue 10, defects 3 and 8): each gets one line naming the file (and
// line) or the flag and what was expected, exit code 2, and every file is left as it was.
import { createHash } from "node:crypto";
import { cpSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runCli, sweepDir } from "./cli.js";

const yaml = `name: bad
prompts: ["a cat", "a dog"]
seeds: [0, 1]
budgets: [4, 8]
strategies:
  - name: random
  - name: ses
    popsize: 4
    elites: 2
    level: 2
evaluator: { kind: synthetic, shape: [1, 4, 16, 16] }
`;

let dir: string;
let good: string;
beforeAll(async () => {
  dir = sweepDir(yaml);
  good = path.join(dir, "run");
  const r = await runCli(["run", "sweep.yaml", "--run-dir", good, "--threads", "2"], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
});

let copies = 0;
/** A copy of the good run folder, edited. */
function brokenRun(edit: (runDir: string) => void): string {
  const copy = path.join(dir, `copy${copies++}`);
  cpSync(good, copy, { recursive: true });
  edit(copy);
  return copy;
}

/** Every file and folder under `root`: path -> sha256, or "folder" (what "left as it was" means). */
function snapshot(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      if (statSync(p).isDirectory()) {
        out.set(path.relative(root, p), "folder");
        walk(p);
      } else {
        out.set(path.relative(root, p), createHash("sha256").update(readFileSync(p)).digest("hex"));
      }
    }
  };
  if (existsSync(root)) walk(root);
  return out;
}

/**
 * Runs each command in `dir` (at once) and checks: exit 2, stderr one line matching its pattern,
 * and no file under `dir` changed.
 */
async function refused(...cases: [string[], RegExp][]): Promise<void> {
  const before = snapshot(dir);
  await Promise.all(cases.map(async ([args, pattern]) => {
    const r = await runCli(args, { cwd: dir, timeoutMs: 30_000 });
    expect(r.code, `${args.join(" ")}\n${r.stderr}`).toBe(2);
    // One line (a command-line mistake may add the pointer to --help).
    expect(r.stderr.replace("\nRun 'sweep --help' for usage.", "").trimEnd().split("\n"), r.stderr).toHaveLength(1);
    expect(r.stderr, args.join(" ")).toMatch(pattern);
  }));
  expect(snapshot(dir), "files changed").toEqual(before);
}

const lineOf = (file: string, n: number) => readFileSync(file, "utf8").split("\n")[n - 1];
const editLine = (file: string, n: number, edit: (cells: string[]) => void) => {
  const lines = readFileSync(file, "utf8").split("\n");
  const cells = lines[n - 1].split(",");
  edit(cells);
  lines[n - 1] = cells.join(",");
  writeFileSync(file, lines.join("\n"));
};
const COLUMN = { eval_index: 7, noise_seed: 9, score: 10, status: 12, seed: 5 } as const;

/** Every command that reads a run folder. */
const readers = (run: string) => [
  ["report", run],
  ["run", "sweep.yaml", "--resume", run],
  ["noise", "--run", run, "--search", "p0/random/s0", "--eval", "0", "--out", path.join(dir, "x.npy")],
  ["noise", "--run", run, "--best", "--out-dir", path.join(dir, "best-out")],
];

describe("a bad evaluations.csv", () => {
  it("a garbage line inside it: report, --resume and noise name the file and line", async () => {
    const run = brokenRun((d) => editLine(path.join(d, "evaluations.csv"), 5, (cells) => cells.splice(0, cells.length, "garbage", "line")));
    await refused(...readers(run).map((args): [string[], RegExp] => [args, /evaluations\.csv:5: expected 18 fields, one per column of the header \(got 2\)$/m]));
  });

  it("a non-numeric score in an ok row is refused, never read as NaN (defect 8)", async () => {
    const run = brokenRun((d) => editLine(path.join(d, "evaluations.csv"), 6, (cells) => (cells[COLUMN.score] = "abc")));
    expect(lineOf(path.join(run, "evaluations.csv"), 6)).toMatch(/,abc,.*,ok,/);
    await refused(...readers(run).map((args): [string[], RegExp] => [args, /evaluations\.csv:6: score: expected a finite number \(the row's status is ok\) \(got 'abc'\)/]));
  });

  it("every other field reading uses is checked too, naming file:line and the column", async () => {
    const cases: [keyof typeof COLUMN, string, RegExp][] = [
      ["noise_seed", "x12", /:7: noise_seed: expected a non-negative integer \(got 'x12'\)/],
      ["eval_index", "-1", /:7: eval_index: expected a non-negative integer \(got '-1'\)/],
      ["eval_index", "999", /:7: eval_index: expected an index below the row's budget 8 \(got '999'\)/],
      ["seed", "1.5", /:7: seed: expected a non-negative integer \(got '1\.5'\)/],
      ["status", "maybe", /:7: status: expected ok or error \(got 'maybe'\)/],
      ["score", "Infinity", /:7: score: expected a finite number/],
    ];
    await refused(...cases.map(([column, value, pattern]): [string[], RegExp] => {
      const run = brokenRun((d) => editLine(path.join(d, "evaluations.csv"), 7, (cells) => (cells[COLUMN[column]] = value)));
      return [["report", run], pattern];
    }));
  });

  it("a changed header: refused by report and --resume, naming the column", async () => {
    const swapped = brokenRun((d) => {
      const f = path.join(d, "evaluations.csv");
      writeFileSync(f, readFileSync(f, "utf8").replace("run_id,search_id,", "search_id,run_id,"));
    });
    await refused(...readers(swapped).slice(0, 2).map((args): [string[], RegExp] => [args, /evaluations\.csv:1: the header differs from the evaluations\.csv header at column 1 \('search_id' instead of 'run_id'\)/]));
    const renamed = brokenRun((d) => {
      const f = path.join(d, "evaluations.csv");
      writeFileSync(f, readFileSync(f, "utf8").replace(",score,", ",points,"));
    });
    await refused(
      [["run", "sweep.yaml", "--resume", renamed], /evaluations\.csv:1: the header differs .* at column 11 \('points' instead of 'score'\)/],
      [["report", renamed], /evaluations\.csv lacks the columns score/],
    );
  });
});

describe("a bad manifest.json", () => {
  it("truncated (a copy cut short): every reader names the file and the line where it ends", async () => {
    const run = brokenRun((d) => {
      const f = path.join(d, "manifest.json");
      writeFileSync(f, readFileSync(f, "utf8").slice(0, 300));
    });
    const render = ["render", "--run", run, "--search", "p0/random/s0", "--eval", "0", "--out", path.join(dir, "x.png")];
    await refused(...[...readers(run), render].map((args): [string[], RegExp] => [args, /manifest\.json:\d+:\d+: not valid JSON/]));
  });

  it("valid JSON with a wrong field: named with its path, through the one schema", async () => {
    const run = brokenRun((d) => {
      const f = path.join(d, "manifest.json");
      const m = JSON.parse(readFileSync(f, "utf8"));
      m.config.seeds = "zero";
      writeFileSync(f, JSON.stringify(m, null, 2));
    });
    await refused(...readers(run).map((args): [string[], RegExp] => [args, /manifest\.json: config\.seeds: .*expected array/i]));
  });
});

describe("bad paths", () => {
  it("missing --tls-ca, --tls-cert, --tls-key and --workers-file files: named, nothing created", async () => {
    const pem = path.join(dir, "sweep.yaml"); // any readable file
    await refused(
      [["run", "sweep.yaml", "--run-dir", "r1", "--workers", "127.0.0.1:9", "--tls-ca", "nope-ca.pem"], /--tls-ca: cannot read nope-ca\.pem \(no such file\)/],
      [["run", "sweep.yaml", "--run-dir", "r1", "--workers", "127.0.0.1:9", "--tls-ca", pem, "--tls-cert", "nope-cert.pem", "--tls-key", pem], /--tls-cert: cannot read nope-cert\.pem/],
      [["run", "sweep.yaml", "--run-dir", "r1", "--workers", "127.0.0.1:9", "--tls-ca", pem, "--tls-cert", pem, "--tls-key", "nope-key.pem"], /--tls-key: cannot read nope-key\.pem/],
      [["run", "sweep.yaml", "--run-dir", "r1", "--workers-file", "nope.txt"], /--workers-file: cannot read nope\.txt \(no such file\)/],
      [["worker", "--listen", "127.0.0.1:0", "--tls-cert", "nope-cert.pem", "--tls-key", pem], /--tls-cert: cannot read nope-cert\.pem/],
    );
    expect(existsSync(path.join(dir, "r1"))).toBe(false);
  });

  it("an impossible or unwritable --run-dir or output: named, no folder left behind", async () => {
    // A file in the way; a folder under /proc (where a recursive mkdir never returns); /sys (not writable).
    await refused(
      [["run", "sweep.yaml", "--run-dir", "sweep.yaml/run"], /--run-dir: cannot create sweep\.yaml\/run: .*sweep\.yaml is a file, not a folder/],
      [["run", "sweep.yaml", "--run-dir", "/proc/sweep-test/run"], /--run-dir: cannot create \/proc\/sweep-test\/run: .*\(ENOENT at \/proc\/sweep-test\)/],
      [["run", "sweep.yaml", "--run-dir", "/sys/sweep-test-run"], /--run-dir: cannot create \/sys\/sweep-test-run: .*\((EPERM|EACCES|EROFS) at/],
      [["run", "sweep.yaml", "--set", "output=sweep.yaml/results"], /output 'sweep\.yaml\/results' \(sweep\.yaml\): cannot create .*: .*sweep\.yaml is a file, not a folder/],
      [["report", good, "--out", "sweep.yaml/report"], /--out: cannot create sweep\.yaml\/report: .*sweep\.yaml is a file, not a folder/],
      [["noise", "--run", good, "--best", "--out-dir", "/proc/sweep-test/best"], /--out-dir: cannot create \/proc\/sweep-test\/best/],
    );
  });

  it("report --seed abc and noise --shape too large for memory", async () => {
    await refused(
      [["report", good, "--seed", "abc"], /--seed: expected a non-negative integer \(got 'abc'\)/],
      [["noise", "--seed", "1", "--shape", "100000,100000,100", "--out", "x.npy"], /--shape: 100000x100000x100 is 1\.00e\+12 values; one noise file holds at most 268435456/],
    );
  });
});
