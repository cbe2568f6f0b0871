/** The fields a schema allows at a path, to turn "unknown field" into "did you mean ...". */
import type { z } from "zod";

type AnySchema = z.core.$ZodType;

interface Def {
  type: string;
  shape?: Record<string, AnySchema>;
  element?: AnySchema;
  innerType?: AnySchema;
  options?: AnySchema[];
  discriminator?: string;
  values?: unknown[];
}

const defOf = (s: AnySchema) => (s as unknown as { _zod: { def: Def } })._zod.def;

function unwrap(schema: AnySchema, data: unknown): AnySchema {
  let s = schema;
  for (;;) {
    const def = defOf(s);
    if (def.innerType) s = def.innerType;
    else if (def.type === "union" && def.options && def.discriminator) {
      const tag = (data as Record<string, unknown> | undefined)?.[def.discriminator];
      const match = def.options.find((o) => (defOf(defOf(o).shape![def.discriminator!]).values ?? []).includes(tag));
      if (!match) return s;
      s = match;
    } else return s;
  }
}

export function knownFields(schema: AnySchema, path: readonly PropertyKey[], data: unknown): string[] {
  let s = unwrap(schema, data);
  let d = data;
  for (const segment of path) {
    const def = defOf(s);
    d = (d as Record<PropertyKey, unknown> | undefined)?.[segment];
    if (def.type === "object" && def.shape) s = def.shape[String(segment)];
    else if (def.type === "array" && def.element) s = def.element;
    else return [];
    if (!s) return [];
    s = unwrap(s, d);
  }
  const def = defOf(s);
  return def.type === "object" && def.shape ? Object.keys(def.shape) : [];
}

/** The closest known name (a prefix counts as 1.5 edits), within a small edit distance, if any. */
export function closest(name: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    const effective = name.length >= 3 && c.startsWith(name) ? Math.min(d, 1.5) : d;
    if (effective < bestDistance) {
      best = c;
      bestDistance = effective;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}
