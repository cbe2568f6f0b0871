import { InputError } from "../domain/input-error.js";

/** A config mistake, located in the YAML file (or the --set override) that made it. */
export interface ConfigProblem {
  /** "file:line:col", "--set expr", or the file alone. */
  where: string;
  /** Dotted field path, e.g. strategies.1.elites; empty for the whole document. */
  field: string;
  message: string;
}

export class ConfigError extends InputError {
  constructor(readonly problems: ConfigProblem[]) {
    super(problems.map(formatProblem).join("\n"));
    this.name = "ConfigError";
  }
}

export function formatProblem(p: ConfigProblem): string {
  return `${p.where}: ${p.field ? `${p.field}: ` : ""}${p.message}`;
}
