/**
 * The per-prompt table: one row per prompt, each strategy's mean best score over seeds at the
 * largest budget, and each other strategy's mean paired difference to the baseline (over the seeds
 * where both succeeded), rows sorted by the first of those differences, largest first. Pure.
 */
import type { TrialRow } from "../results/trials.js";

export interface PerPromptRow {
  prompt_index: number;
  prompt: string;
  /** per strategy (PerPrompt.strategies' order); null where no trial succeeded */
  means: (number | null)[];
  /** per compared strategy (PerPrompt.compared's order); null without a pair */
  diffs: (number | null)[];
}

export interface PerPrompt {
  budget: number;
  baseline: string;
  strategies: string[];
  /** the strategies other than the baseline */
  compared: string[];
  rows: PerPromptRow[];
}

export function perPrompt(trials: TrialRow[], prompts: readonly string[], strategies: string[], baseline: string, budget: number): PerPrompt {
  const compared = strategies.filter((s) => s !== baseline);
  // prompt -> strategy -> seed -> best score
  const scores = prompts.map(() => new Map<string, Map<number, number>>());
  for (const t of trials) {
    if (t.budget !== budget || t.status !== "ok" || t.best_score === null) continue;
    const byStrategy = scores[t.prompt_index];
    if (!byStrategy) continue;
    let bySeed = byStrategy.get(t.strategy);
    if (!bySeed) byStrategy.set(t.strategy, (bySeed = new Map()));
    bySeed.set(t.seed, t.best_score);
  }
  const meanOf = (xs: Iterable<number>) => {
    let sum = 0;
    let n = 0;
    for (const x of xs) {
      sum += x;
      n++;
    }
    return n === 0 ? null : sum / n;
  };
  const rows = prompts.map((prompt, i): PerPromptRow => {
    const byStrategy = scores[i];
    const base = byStrategy.get(baseline);
    return {
      prompt_index: i,
      prompt,
      means: strategies.map((s) => meanOf(byStrategy.get(s)?.values() ?? [])),
      diffs: compared.map((s) => {
        const mine = byStrategy.get(s);
        if (!mine || !base) return null;
        const ds: number[] = [];
        for (const [seed, x] of mine) if (base.has(seed)) ds.push(x - base.get(seed)!);
        return meanOf(ds);
      }),
    };
  });
  const key = (r: PerPromptRow) => r.diffs[0] ?? -Infinity;
  rows.sort((a, b) => key(b) - key(a) || a.prompt_index - b.prompt_index);
  return { budget, baseline, strategies, compared, rows };
}

/** A prompt shortened for a table cell: at most `max` characters, cut at a word where one is near. */
export function shortPrompt(prompt: string, max = 60): string {
  const one = prompt.replace(/\s+/g, " ").trim();
  if (one.length <= max) return one;
  const cut = one.slice(0, max - 1);
  const space = cut.lastIndexOf(" ");
  return `${space > max * 0.6 ? cut.slice(0, space) : cut}…`;
}
