/**
 * The one rule for a search's best score, wherever it is taken (best_so_far as rows are written, a
 * resumed search's best, a trial's best, the budget curve): a larger score replaces the best, and
 * of equal scores the first stays.
 */
export function isNewBest(score: number, best: number | null): boolean {
  return best === null || score > best;
}
