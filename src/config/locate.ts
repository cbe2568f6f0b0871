/** Maps a field path of a parsed YAML document back to "file:line:col" (or the --set that wrote it). */
import { isMap, isPair, isScalar, type Document, type LineCounter, type Node } from "yaml";

export type FieldPath = readonly PropertyKey[];

export interface Locator {
  (path: FieldPath, key?: string): string;
}

export function makeLocator(file: string, doc: Document, lines: LineCounter, overrides: { path: FieldPath; expr: string }[]): Locator {
  return (path, key) => {
    const full = key === undefined ? path : [...path, key];
    const override = overrides.find((o) => o.path.length <= full.length && o.path.every((s, i) => String(s) === String(full[i])));
    if (override) return `--set ${override.expr}`;
    let node: unknown = doc.contents;
    let offset: number | undefined = (node as Node | null)?.range?.[0];
    for (const segment of full) {
      const found = childOf(node, segment);
      if (!found) {
        // not in the file: a --set that made it (a.b.c=1 makes a) is where it comes from
        const maker = overrides.find((o) => full.every((s, i) => String(s) === String(o.path[i])));
        if (maker) return `--set ${maker.expr}`;
        break;
      }
      node = found.value;
      offset = found.offset ?? offset;
    }
    if (offset === undefined) return file;
    const pos = lines.linePos(offset);
    return `${file}:${pos.line}:${pos.col}`;
  };
}

/** The child node at `segment` and where it starts (a map entry is located by its key). */
function childOf(node: unknown, segment: PropertyKey): { value: unknown; offset?: number } | undefined {
  if (isMap(node)) {
    const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(segment));
    if (!pair) return undefined;
    return { value: pair.value, offset: (pair.key as Node).range?.[0] };
  }
  if (node && typeof node === "object" && "items" in node && Array.isArray((node as { items: unknown[] }).items)) {
    const item = (node as { items: unknown[] }).items[Number(segment)];
    if (item === undefined) return undefined;
    return { value: item, offset: (item as Node | null)?.range?.[0] };
  }
  return undefined;
}
