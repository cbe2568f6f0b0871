import { InputError } from "../domain/input-error.js";

/**
 * A worker that cannot start as asked (an address, a device list, a model to preload): nothing is
 * served. `subject` is the option concerned, e.g. "--devices"; the CLI adds its usage hint.
 */
export class WorkerSetupError extends InputError {
  constructor(message: string, subject?: string) {
    super(message, subject, true);
  }
}
