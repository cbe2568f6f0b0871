// Figure 1: evaluations per second through the whole coordinator path (plan, ask/tell, gRPC, CSV)
// with the noop evaluator, 4 workers on loopback, and the coordinator's memory while it dispatches
// (sampled until the last evaluation is recorded; deriving trials and the report afterwards reads
// the whole CSV and is reported separately as the peak after dispatch).
import { readRows, rowRate, rssMb, runSweep, startWorker, stopAll } from "./lib.mjs";

export async function dispatchBench({ evaluations = 200_000 } = {}) {
  const seeds = Math.ceil(evaluations / (8 * 250));
  const workers = await Promise.all([1, 1, 1, 1].map((t) => startWorker(t)));
  const yaml = `name: dispatch
prompts: ["a", "b", "c", "d", "e", "f", "g", "h"]
seeds: [${Array.from({ length: seeds }, (_, i) => i).join(", ")}]
budgets: [250]
strategies: [{ name: random }]
evaluator: { kind: noop }
`;
  const samples = [];
  const after = [];
  const total = 8 * seeds * 250;
  try {
    const { runDir, manifest } = await runSweep(yaml, ["--workers", workers.map((w) => w.address).join(","), "--log-every", "1"], {
      onPoll: (child, _dir, stderr) => (stderr.includes(`${total}/${total} evaluations`) ? after : samples).push(rssMb(child.pid)),
    });
    const rows = readRows(runDir);
    const valid = samples.filter(Number.isFinite);
    const early = valid[Math.min(valid.length - 1, Math.floor(valid.length * 0.1))];
    return {
      evaluations: rows.length,
      rate: rowRate(rows),
      wall_s: manifest.duration_s,
      rss_start_mb: early,
      rss_peak_mb: valid.reduce((a, b) => Math.max(a, b), 0),
      rss_growth_mb: valid.reduce((a, b) => Math.max(a, b), 0) - early,
      rss_peak_after_dispatch_mb: after.filter(Number.isFinite).reduce((a, b) => Math.max(a, b), 0),
    };
  } finally {
    stopAll(workers);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await dispatchBench({ evaluations: Number(process.argv[2] ?? 200_000) }));
