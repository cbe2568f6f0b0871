/**
 * Progress of a run: bars per strategy on a terminal (cli-progress), a plain line every few
 * seconds otherwise (logs, CI). Written to stderr so stdout stays for results.
 */
import { MultiBar, Presets, type SingleBar } from "cli-progress";
import type { Plan } from "../plan/plan.js";
import { OK, type SearchRecord } from "../results/search-records.js";

export interface ProgressOptions {
  total: number;
  perStrategy: Map<string, number>;
  stream?: NodeJS.WriteStream;
  /** Seconds between plain log lines when not on a terminal. */
  logEvery?: number;
}

export class Progress {
  private stopped = false;
  private done = 0;
  private failed = 0;
  private readonly doneBy = new Map<string, number>();
  private readonly started = performance.now();
  private readonly stream: NodeJS.WriteStream;
  private readonly bars?: { multi: MultiBar; total: SingleBar; each: Map<string, SingleBar> };
  private timer?: NodeJS.Timeout;

  constructor(private readonly opts: ProgressOptions) {
    this.stream = opts.stream ?? process.stderr;
    if (this.stream.isTTY) {
      const multi = new MultiBar({
        stream: this.stream,
        format: " {label} |{bar}| {value}/{total} evals | {rate}/s | ETA {eta_formatted}",
        hideCursor: true,
        clearOnComplete: false,
        etaBuffer: 200,
        fps: 5,
      }, Presets.shades_classic);
      const total = multi.create(opts.total, 0, { label: "all".padEnd(this.labelWidth()), rate: "0.0" });
      const each = new Map<string, SingleBar>();
      for (const [label, n] of opts.perStrategy) each.set(label, multi.create(n, 0, { label: label.padEnd(this.labelWidth()), rate: "0.0" }));
      this.bars = { multi, total, each };
    } else {
      this.timer = setInterval(() => this.stream.write(`${this.line()}\n`), (opts.logEvery ?? 10) * 1000);
      this.timer.unref();
    }
  }

  private labelWidth(): number {
    return Math.max(3, ...[...this.opts.perStrategy.keys()].map((l) => l.length));
  }

  private rate(): number {
    const seconds = (performance.now() - this.started) / 1000;
    return seconds > 0 ? this.done / seconds : 0;
  }

  evaluated(strategy: string, ok: boolean): void {
    this.done++;
    if (!ok) this.failed++;
    this.doneBy.set(strategy, (this.doneBy.get(strategy) ?? 0) + 1);
    if (this.bars) {
      const rate = this.rate().toFixed(1);
      this.bars.total.update(this.done, { rate });
      this.bars.each.get(strategy)?.update(this.doneBy.get(strategy)!, { rate });
    }
  }

  line(): string {
    const rate = this.rate();
    const left = this.opts.total - this.done;
    const eta = rate > 0 ? `${Math.ceil(left / rate)} s` : "?";
    const per = [...this.opts.perStrategy.keys()].map((l) => `${l} ${this.doneBy.get(l) ?? 0}/${this.opts.perStrategy.get(l)}`).join(", ");
    const errors = this.failed > 0 ? `, ${this.failed} errors` : "";
    return `[sweep] ${this.done}/${this.opts.total} evaluations (${per}), ${rate.toFixed(1)}/s, ETA ${eta}${errors}`;
  }

  /** Stops the bars (or writes the last line); once, however often it is called. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.bars) this.bars.multi.stop();
    else this.stream.write(`${this.line()}\n`);
  }
}

/** The progress of a plan's evaluations; a resumed run starts from what its searches recorded. */
export function planProgress(plan: Plan, prior: ReadonlyMap<string, SearchRecord> | undefined, stream: NodeJS.WriteStream, logEvery?: number): Progress {
  const perStrategy = new Map<string, number>();
  for (const s of plan.searches) perStrategy.set(s.strategy.label, (perStrategy.get(s.strategy.label) ?? 0) + s.budget);
  const progress = new Progress({ total: plan.evaluations, perStrategy, stream, logEvery });
  if (prior) {
    for (const s of plan.searches) {
      // failed evaluations are evaluated again: not counted as done
      for (const status of prior.get(s.searchId)?.status ?? []) if (status === OK) progress.evaluated(s.strategy.label, true);
    }
  }
  return progress;
}
