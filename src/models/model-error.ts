import path from "node:path";
import { InputError } from "../domain/input-error.js";

/** Bad model input (a missing file, a wrong shape or dtype, a digest mismatch): exit code 2. */
export class ModelInputError extends InputError {}

/** A reward model directory missing from a model root, with the command that makes it. */
export function rewardNotFound(reward: string, root: string, role: "reward" | "held-out reward"): ModelInputError {
  return new ModelInputError(
    `${role} '${reward}' not found under the model root ${root}; make it with ` +
      `'sweep models import --reward pickscore|hpsv2|clip|aesthetic --from DIR --out ${path.join(root, reward)}'`,
  );
}

/** A model directory missing from a model root, with the command that makes it. */
export function modelNotFound(model: string, root: string): ModelInputError {
  return new ModelInputError(
    `model '${model}' not found under the model root ${root}; make it with ` +
      `'sweep models import --flux2 DIR --pickscore DIR --processor DIR --out ${path.join(root, model)}' ` +
      `(or --synthetic flux2-tiny|flux2-klein-4b instead of the three folders)`,
  );
}
