import type { Candidate } from "../domain/candidate.js";

/**
 * The bookkeeping of a strategy that asks in whole rounds (zero-order's rounds, evolution's
 * generations): a round's candidates go out in eval-index order, their scores come back in any
 * order, and the next round is made only once every candidate of this one is told.
 */
export class Rounds {
  private start = 0;
  private candidates: Candidate[] = [];
  private asked = 0;
  private readonly told = new Map<number, number>();

  /** `who` and `round` name the strategy and its current round in errors ("evolution", "generation 3"). */
  constructor(private readonly budget: number, private readonly who: string, private readonly round: () => string) {}

  get exhausted(): boolean {
    return this.asked >= this.budget;
  }

  /** The eval index of the next round's first candidate. */
  get nextIndex(): number {
    return this.asked;
  }

  /**
   * Up to `limit` candidates of the round; once the round is asked and told, `next` (which may
   * read `scores()`) makes the next round first; [] while scores are missing.
   */
  ask(limit: number, next: () => Candidate[]): Candidate[] {
    if (this.exhausted) return [];
    if (this.asked === this.start + this.candidates.length) {
      if (this.told.size < this.candidates.length) return [];
      this.begin(next());
    }
    const end = Math.min(this.start + this.candidates.length, this.budget);
    const out: Candidate[] = [];
    while (out.length < limit && this.asked < end) out.push(this.candidates[this.asked++ - this.start]);
    return out;
  }

  /** A round of these candidates, numbered from `nextIndex` on. */
  begin(candidates: Candidate[]): void {
    this.start = this.asked;
    this.told.clear();
    this.candidates = candidates;
  }

  tell(evalIndex: number, score: number): void {
    if (evalIndex < this.start || evalIndex >= this.asked) throw new Error(`${this.who} was told eval ${evalIndex}, which is not pending in ${this.round()}`);
    this.told.set(evalIndex, score);
  }

  /** The round's scores in round order (every candidate told). */
  scores(): number[] {
    return this.candidates.map((c) => this.told.get(c.evalIndex)!);
  }

  /** The round's candidates in round order. */
  get members(): readonly Candidate[] {
    return this.candidates;
  }
}
