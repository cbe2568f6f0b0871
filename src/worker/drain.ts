/**
 * A worker's open Evaluate streams and its drain (docs/protocol.md, "Draining"): from the first
 * stop signal no new candidate is evaluated (each is answered as draining), the candidates already
 * held run to the end until the drain deadline, and whatever is still running then is failed back
 * as draining, so the coordinator moves it elsewhere without counting an attempt.
 */
import type { EvaluateStream, StreamHost } from "./evaluate-stream.js";

export interface DrainReport {
  /** Candidates held when the drain began. */
  held: number;
  /** Of those, failed back at the deadline. */
  failedBack: number;
  seconds: number;
}

export class Drain implements StreamHost {
  draining = false;
  private readonly streams = new Set<EvaluateStream>();
  /** Called while the drain waits, once nothing is held any more. */
  private idle?: () => void;

  opened(stream: EvaluateStream): void {
    this.streams.add(stream);
  }

  closed(stream: EvaluateStream): void {
    this.streams.delete(stream);
  }

  settled(): void {
    if (this.idle && this.held() === 0) this.idle();
  }

  /** Candidates being evaluated on all streams. */
  held(): number {
    let n = 0;
    for (const s of this.streams) n += s.busy;
    return n;
  }

  /**
   * Drains: waits up to `timeoutMs` for the held candidates, fails back the rest, then ends every
   * stream once its answers are written.
   */
  async run(timeoutMs: number): Promise<DrainReport> {
    const started = performance.now();
    this.draining = true;
    const held = this.held();
    let timer: NodeJS.Timeout | undefined;
    const finished = held === 0 || await new Promise<boolean>((resolve) => {
      this.idle = () => resolve(true);
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    clearTimeout(timer);
    this.idle = undefined;
    let failedBack = 0;
    if (!finished) for (const s of this.streams) failedBack += s.failBack();
    for (const s of [...this.streams]) s.finish();
    return { held, failedBack, seconds: (performance.now() - started) / 1000 };
  }
}
