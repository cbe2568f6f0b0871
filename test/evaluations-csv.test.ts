import { parse } from "csv-parse/sync";
import { stringify } from "csv-stringify/sync";
import { describe, expect, it } from "vitest";
import { csvLine, EVALUATION_COLUMNS, type EvaluationRow } from "../src/results/evaluations-csv.js";

const base: EvaluationRow = {
  run_id: "20261126-010203-abcd", search_id: "p0/ses/s3", prompt_index: 0, prompt: "a cat", strategy: "ses", seed: 3, budget: 50,
  eval_index: 7, generation: 0, noise_seed: 3, score: 0.1 + 0.2, best_so_far: 1e-300, status: "ok", error: "",
  worker: "127.0.0.1:7070/cpu", latency_ms: 12.34567, finished_at: "2026-11-26T01:02:03.456Z", attempts: 1,
};

describe("evaluations.csv lines", () => {
  const tricky = ["a, b", 'say "hi"', "line\nbreak", "cr\rhere", "unicode ✓ 猫", "", " padded ", '"', ",", "tab\there"];
  it("quote exactly as csv-stringify does and parse back to the same cells", () => {
    for (const text of tricky) {
      const row: EvaluationRow = { ...base, prompt: text, error: `${text}!`, status: "error", score: null, generation: null };
      const line = csvLine(row);
      const [cells] = parse(line) as string[][];
      expect(cells).toHaveLength(EVALUATION_COLUMNS.length);
      expect(cells[EVALUATION_COLUMNS.indexOf("prompt")]).toBe(text);
      expect(cells[EVALUATION_COLUMNS.indexOf("error")]).toBe(`${text}!`);
      expect(cells[EVALUATION_COLUMNS.indexOf("score")]).toBe("");
      expect(line).toBe(stringify([cells]));
    }
  });

  it("keep every digit of a float64 score, and latency to the microsecond", () => {
    const [cells] = parse(csvLine(base)) as string[][];
    expect(Number(cells[EVALUATION_COLUMNS.indexOf("score")])).toBe(0.1 + 0.2);
    expect(cells[EVALUATION_COLUMNS.indexOf("best_so_far")]).toBe("1e-300");
    expect(cells[EVALUATION_COLUMNS.indexOf("latency_ms")]).toBe("12.346");
  });
});
