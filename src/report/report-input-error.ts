import { InputError } from "../domain/input-error.js";

/**
 * A report, noise or render request this run cannot meet (an unknown strategy, search, eval index
 * or budget): exit code 2. `subject` names the option; the message does not repeat it.
 */
export class ReportInputError extends InputError {}
