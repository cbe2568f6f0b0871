/** Reading a checkpoint's config.json field by field: every refusal names the file, the field and what was expected. */
import { ModelInputError } from "./model-error.js";

export interface ConfigFields {
  /** the config as an object */
  c: Record<string, unknown>;
  fail(field: string, expected: string, got: unknown): never;
  positiveInt(field: string): number;
  positive(field: string, value: unknown): number;
  bool(field: string): boolean;
}

export function configFields(json: unknown, file: string): ConfigFields {
  const fail = (field: string, expected: string, got: unknown): never => {
    throw new ModelInputError(`${file}: "${field}" must be ${expected} (got ${JSON.stringify(got)})`);
  };
  if (typeof json !== "object" || json === null || Array.isArray(json)) fail("(root)", "a JSON object", json);
  const c = json as Record<string, unknown>;
  return {
    c,
    fail,
    positiveInt: (field) => {
      const v = c[field];
      return Number.isInteger(v) && (v as number) > 0 ? (v as number) : fail(field, "a positive integer", v);
    },
    positive: (field, v) => (typeof v === "number" && v > 0 ? v : fail(field, "a positive number", v)),
    bool: (field) => (typeof c[field] === "boolean" ? (c[field] as boolean) : fail(field, "true or false", c[field])),
  };
}
