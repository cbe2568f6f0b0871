import { InputError } from "../domain/input-error.js";

/**
 * A file of a run folder that cannot be read as what it must be (a torn or hand-edited
 * manifest.json, a garbage line in evaluations.csv, a changed header): one line naming the file
 * (and line) and what was expected. A user's input mistake, so exit code 2; nothing is changed.
 */
export class RunFileError extends InputError {}
