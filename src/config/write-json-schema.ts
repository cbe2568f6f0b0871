/** Writes configs/sweep.schema.json from the zod schema (`npm run schema`), for editor completion. */
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { sweepSchema } from "./schema.js";

export function sweepJsonSchema(): string {
  const schema = z.toJSONSchema(sweepSchema, { io: "input", target: "draft-7" });
  return `${JSON.stringify({ ...schema, title: "sweep configuration" }, null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = fileURLToPath(new URL("../../configs/sweep.schema.json", import.meta.url));
  writeFileSync(file, sweepJsonSchema());
  process.stdout.write(`wrote ${file}\n`);
}
