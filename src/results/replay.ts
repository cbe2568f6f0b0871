/**
 * Rebuilds the candidates a search asked for after the fact, by replaying its strategy with the
 * scores it recorded (ask/tell is deterministic): any recorded candidate's noise, an SES one too,
 * can be regenerated from the run folder alone.
 */
import type { SearchPlan } from "../plan/plan.js";
import { ERROR, NOT_RECORDED, OK, sameNoiseSeed, seedOrNull, type SearchRecord } from "./search-records.js";
import { createStrategy } from "../strategies/registry.js";
import type { Candidate, NoiseShape } from "../domain/candidate.js";
import { InputError } from "../domain/input-error.js";

export class ReplayError extends InputError {}

/** The candidates at the wanted eval indices of one search. */
export function replayCandidates(search: SearchPlan, record: SearchRecord, shape: NoiseShape, wanted: Iterable<number>): Map<number, Candidate> {
  const want = new Set(wanted);
  const found = new Map<number, Candidate>();
  const strategy = createStrategy(search.strategy, { seed: search.seed, budget: search.budget, shape });
  const asked = new Map<number, Candidate>();
  let told = 0;
  while (found.size < want.size) {
    const batch = strategy.ask(search.budget);
    for (const c of batch) {
      const recorded = c.evalIndex < record.status.length && record.status[c.evalIndex] !== NOT_RECORDED;
      if (recorded && !sameNoiseSeed(record.noiseSeeds[c.evalIndex], c.noiseSeed)) {
        throw new ReplayError(`${search.searchId} eval ${c.evalIndex}: recorded noise_seed ${seedOrNull(record.noiseSeeds[c.evalIndex]) ?? "(none)"} but the strategy asks ${c.noiseSeed}; the run was made differently`);
      }
      asked.set(c.evalIndex, c);
      if (want.has(c.evalIndex)) found.set(c.evalIndex, c);
    }
    let progressed = batch.length > 0;
    for (let c = asked.get(told); c && record.status[told] === OK; c = asked.get(told)) {
      strategy.tell(told, record.scores[told]);
      asked.delete(told);
      told++;
      progressed = true;
    }
    if (!progressed) break;
  }
  const missing = [...want].filter((i) => !found.has(i));
  if (missing.length > 0) {
    throw new ReplayError(`${search.searchId}: cannot rebuild eval ${missing.join(", ")}: the search has ${told} recorded successful evaluations in a row${told < search.budget ? ` (eval ${told} is ${record.status[told] === ERROR ? "an error" : "not recorded"})` : ""}`);
  }
  return found;
}
