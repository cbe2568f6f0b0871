/**
 * Checks Kubernetes manifests against the API's types: kubernetes-types (generated from the
 * Kubernetes 1.30 OpenAPI definitions) and the TypeScript compiler. Each document becomes an object
 * literal typed as its kind, so an unknown or misspelt field, a value of the wrong type and a
 * missing required field are errors at any depth, as `kubectl apply --validate=strict` makes them.
 */
import path from "node:path";
import ts from "typescript";
import { repoRoot } from "./reference.js";

export interface ManifestDocument {
  /** Where it came from, for the messages: file and document index. */
  name: string;
  doc: { apiVersion: string; kind: string };
}

/** "v1" -> core/v1, "apps/v1" -> apps/v1, "networking.k8s.io/v1" -> networking/v1. */
function typesModule(apiVersion: string): string {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["core", apiVersion];
  return `kubernetes-types/${group.split(".")[0]}/${version}`;
}

/** One line per error: the document's name and the compiler's message. */
export function manifestTypeErrors(documents: ManifestDocument[]): string[] {
  // Virtual files beside the tests, so that kubernetes-types resolves from the project's node_modules.
  const sources = new Map(documents.map(({ doc }, i) => [
    path.join(repoRoot, "test", `__manifest_${i}.ts`),
    `import type { ${doc.kind} as Kind } from "${typesModule(doc.apiVersion)}";\nexport const doc: Kind = ${JSON.stringify(doc, null, 2)};\n`,
  ]));
  const options: ts.CompilerOptions = {
    strict: true, noEmit: true, skipLibCheck: true, types: [], module: ts.ModuleKind.ESNext, moduleResolution: ts.ModuleResolutionKind.Bundler, target: ts.ScriptTarget.ES2022,
  };
  const host = ts.createCompilerHost(options);
  const { fileExists, readFile, getSourceFile } = host;
  host.fileExists = (f) => sources.has(f) || fileExists(f);
  host.readFile = (f) => sources.get(f) ?? readFile(f);
  host.getSourceFile = (f, language, ...rest) => {
    const text = sources.get(f);
    return text === undefined ? getSourceFile(f, language, ...rest) : ts.createSourceFile(f, text, language);
  };
  const program = ts.createProgram([...sources.keys()], options, host);
  const names = new Map([...sources.keys()].map((f, i) => [f, documents[i].name]));
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const message = ts.flattenDiagnosticMessageText(d.messageText, " ");
    if (!d.file || d.start === undefined) return message;
    // The literal's line names the field: `"containerPort": "7070"`.
    const { line } = d.file.getLineAndCharacterOfPosition(d.start);
    return `${names.get(d.file.fileName) ?? d.file.fileName}: ${d.file.text.split("\n")[line].trim()}: ${message}`;
  });
}
