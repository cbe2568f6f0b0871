// Figure 4: scheduling efficiency. Synthetic evaluator with 20 ms +/- 5 ms latency, 8 device slots
// over workers of mixed size (2, 2 and 4 slots), the quick-start sweep scaled to 20,000
// evaluations; efficiency = total evaluation time / slot-time available. Also with the 2-slot
// worker killed half way (slot-time counts its slots only while it lived).
import { readFileSync } from "node:fs";
import path from "node:path";
import { readRows, runSweep, startWorker, stopAll } from "./lib.mjs";

const rowsWritten = (dir) => readFileSync(path.join(dir, "evaluations.csv"), "utf8").split("\n").length - 2;

const yaml = `name: scheduling
prompts: ["sketch, a cat", "a lighthouse at dawn", "a bowl of ramen, studio lighting", "an astronaut riding a horse, oil painting"]
seeds: [${Array.from({ length: 50 }, (_, i) => i).join(", ")}]
budgets: [10, 20, 50]
strategies: [{ name: random }, { name: ses }]
evaluator: { kind: synthetic, shape: [1, 16, 32, 32], latency_ms: 20, jitter_ms: 5 }
`;

async function once(killHalfWay) {
  const workers = await Promise.all([2, 2, 4].map((t) => startWorker(t)));
  let killedAt = null;
  try {
    const { runDir } = await runSweep(yaml, ["--workers", workers.map((w) => w.address).join(",")], {
      onPoll: (_child, dir) => {
        if (!killHalfWay || killedAt !== null) return;
        try {
          if (rowsWritten(dir) < 10_000) return;
        } catch {
          return;
        }
        workers[0].child.kill("SIGKILL");
        killedAt = Date.now();
      },
    });
    const rows = readRows(runDir);
    const busyMs = rows.reduce((n, r) => n + Number(r.latency_ms), 0);
    const start = rows.reduce((m, r) => Math.min(m, Date.parse(r.finished_at) - Number(r.latency_ms)), Infinity);
    const end = rows.reduce((m, r) => Math.max(m, Date.parse(r.finished_at)), -Infinity);
    const wall = end - start;
    const slotTime = killedAt === null ? 8 * wall : 8 * (killedAt - start) + 6 * (end - killedAt);
    return { evaluations: rows.length, wall_s: wall / 1000, ideal_s: busyMs / (killedAt === null ? 8 : slotTime / wall) / 1000, efficiency: busyMs / slotTime };
  } finally {
    stopAll(workers);
  }
}

export async function schedulingBench() {
  return { steady: await once(false), killed: await once(true) };
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await schedulingBench());
