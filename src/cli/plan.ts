/** `sweep plan`: what a sweep will run (trials, searches, evaluations), without running it. */
import type { Argv } from "yargs";
import { withConfig } from "./flags.js";

export function planCommand<T>(y: Argv<T>): Argv<T> {
  return y.command("plan [config]", "Count the trials, searches and evaluations of a sweep", (c) => withConfig(c), async (args) => {
    const [{ loadSweep }, { planSweep }, { textTable }] = await Promise.all([import("../config/load.js"), import("../plan/plan.js"), import("../report/text-table.js")]);
    const sweep = await loadSweep(args.config, { overrides: args.set });
    const plan = planSweep(sweep);
    const rows = sweep.strategies.map((s) => {
      const searches = plan.searches.filter((x) => x.strategy.label === s.label);
      return [s.label, String(searches.length), String(searches.reduce((n, x) => n + x.trialBudgets.length, 0)), String(searches.reduce((n, x) => n + x.budget, 0))];
    });
    const saved = plan.evaluationsWithoutSharing - plan.evaluations;
    process.stdout.write([
      `sweep ${sweep.name}: ${sweep.prompts.length} prompts x ${sweep.strategies.length} strategies x ${sweep.seeds.length} seeds x ${sweep.budgets.length} budgets [${sweep.budgets.join(", ")}]`,
      textTable(["strategy", "searches", "trials", "evaluations"], rows),
      `total: ${plan.trials} trials, ${plan.searches.length} searches, ${plan.evaluations} evaluations`,
      `sharing searches across budgets saves ${saved} of ${plan.evaluationsWithoutSharing} evaluations (${plan.evaluationsWithoutSharing > 0 ? ((100 * saved) / plan.evaluationsWithoutSharing).toFixed(1) : "0"}%)`,
      `fingerprint: ${sweep.fingerprint}`,
      "",
    ].join("\n"));
  });
}
