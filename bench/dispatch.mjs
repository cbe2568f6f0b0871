// Figure 1: evaluations per second through the whole coordinator path (plan, ask/tell, gRPC, CSV)
// with the noop evaluator, 4 workers on loopback, and the coordinator's resident memory over the
// run: from the first recorded evaluation to the end (dispatch, then trials and the report, which
// stream evaluations.csv), with the peaks of both phases.
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
  const dispatching = [];
  const after = [];
  const total = 8 * seeds * 250;
  try {
    const { runDir, manifest } = await runSweep(yaml, ["--workers", workers.map((w) => w.address).join(","), "--log-every", "1"], {
      onPoll: (child, _dir, stderr) => {
        const done = Number([...stderr.matchAll(/(\d+)\/\d+ evaluations/g)].pop()?.[1] ?? 0);
        if (done > 0) (done < total ? dispatching : after).push(rssMb(child.pid));
      },
    });
    const rows = readRows(runDir);
    const max = (xs) => xs.filter(Number.isFinite).reduce((a, b) => Math.max(a, b), 0);
    return {
      evaluations: rows.length,
      rate: rowRate(rows),
      wall_s: manifest.duration_s,
      rss_start_mb: dispatching.find(Number.isFinite),
      rss_peak_dispatch_mb: max(dispatching),
      rss_peak_after_dispatch_mb: max(after),
      rss_growth_mb: Math.max(max(dispatching), max(after)) - dispatching.find(Number.isFinite),
    };
  } finally {
    stopAll(workers);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await dispatchBench({ evaluations: Number(process.argv[2] ?? 200_000) }));
