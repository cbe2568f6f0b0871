// Figure 1: evaluations per second through the whole coordinator path (plan, ask/tell, gRPC, CSV)
// with the noop evaluator, 4 workers on loopback, and the coordinator's resident memory over the
// run: from the first recorded evaluation to the end (dispatch, then trials and the report, which
// stream evaluations.csv), with the peaks of both phases. `strategy`: "random", "ses" (DiffSynth's
// defaults: popsize 10, db1, level 4, so 2,048 low-band floats per candidate at (1,128,64,64)) or
// "mix" (both in one sweep, half the evaluations each), "zero-order" or "evolution" (their defaults:
// 4 neighbours; populations 14 then 7, 3 elites). Also the CPU time the coordinator and the
// workers (all their threads) spend per evaluation while dispatching.
import { cpuSeconds, readRows, rowRate, rssMb, runSweep, startWorker, stopAll } from "./lib.mjs";

export const STRATEGIES = {
  random: "[{ name: random }]",
  ses: "[{ name: ses }]",
  mix: "[{ name: random }, { name: ses }]",
  "zero-order": "[{ name: zero-order }]",
  evolution: "[{ name: evolution }]",
};

export async function dispatchBench({ evaluations = 200_000, strategy = "random" } = {}) {
  const strategies = STRATEGIES[strategy];
  if (!strategies) throw new Error(`strategy: expected ${Object.keys(STRATEGIES).join(", ")} (got ${strategy})`);
  const perSeed = strategy === "mix" ? 2 : 1;
  const seeds = Math.ceil(evaluations / (8 * 250 * perSeed));
  const workers = await Promise.all([1, 1, 1, 1].map((t) => startWorker(t)));
  const yaml = `name: dispatch
prompts: ["a", "b", "c", "d", "e", "f", "g", "h"]
seeds: [${Array.from({ length: seeds }, (_, i) => i).join(", ")}]
budgets: [250]
strategies: ${strategies}
evaluator: { kind: noop }
`;
  const dispatching = [];
  const after = [];
  const total = 8 * seeds * 250 * perSeed;
  // CPU seconds of the coordinator and of the workers at the first and the last poll while dispatching
  let first;
  let last;
  const cpu = (child, done) => ({ done, coordinator: cpuSeconds(child.pid), workers: workers.reduce((n, w) => n + cpuSeconds(w.child.pid), 0) });
  try {
    const { runDir, manifest } = await runSweep(yaml, ["--workers", workers.map((w) => w.address).join(","), "--log-every", "1"], {
      onPoll: (child, _dir, stderr) => {
        const done = Number([...stderr.matchAll(/(\d+)\/\d+ evaluations/g)].pop()?.[1] ?? 0);
        if (done > 0) (done < total ? dispatching : after).push(rssMb(child.pid));
        if (done > 0 && done < total) {
          const now = cpu(child, done);
          if (!first) first = now;
          else if (Number.isFinite(now.coordinator) && Number.isFinite(now.workers)) last = now;
        }
      },
    });
    const rows = readRows(runDir);
    const max = (xs) => xs.filter(Number.isFinite).reduce((a, b) => Math.max(a, b), 0);
    return {
      strategy,
      evaluations: rows.length,
      rate: rowRate(rows),
      wall_s: manifest.duration_s,
      rss_start_mb: dispatching.find(Number.isFinite),
      rss_peak_dispatch_mb: max(dispatching),
      rss_peak_after_dispatch_mb: max(after),
      rss_growth_mb: Math.max(max(dispatching), max(after)) - dispatching.find(Number.isFinite),
      cpu_us_per_evaluation: first && last && last.done > first.done
        ? { coordinator: (1e6 * (last.coordinator - first.coordinator)) / (last.done - first.done), workers: (1e6 * (last.workers - first.workers)) / (last.done - first.done) }
        : null,
    };
  } finally {
    stopAll(workers);
  }
}

// node bench/dispatch.mjs [evaluations] [random|ses|mix|zero-order|evolution ...]
if (import.meta.url === `file://${process.argv[1]}`) {
  const evaluations = Number(process.argv[2] ?? 200_000);
  for (const strategy of process.argv.length > 3 ? process.argv.slice(3) : ["random"]) console.log(await dispatchBench({ evaluations, strategy }));
}
