#!/usr/bin/env node
// package.json's "install" script: builds the native addons with node-gyp: the noise addon
// (native/torch_normal.c) and the worker's immediate exit (native/exit_now.c).
//
// Why a script and not `node-gyp rebuild || echo ...`: the addons are optional (without the first the
// JavaScript implementation gives the same bits, slower; without the second a worker stopped while a
// thread is inside onnxruntime exits when that run ends), so a failed build must never fail
// `npm ci`; but it must not be silent either, and node-gyp's own report is dozens of lines (and
// pure noise when the build works). So this runs node-gyp with its output captured, prints nothing
// when it succeeds, and when it fails prints ONE line saying why and that JavaScript will be used.
// Always exits 0. Plain JavaScript with no dependencies: it runs before anything else is built.
import { spawnSync } from "node:child_process";

const MAX_REASON = 240;

/** node-gyp: npm tells its scripts where its bundled one is; otherwise whatever is on PATH. */
function nodeGypCommand() {
  const bundled = process.env.npm_config_node_gyp;
  if (bundled) return /\.[cm]?js$/.test(bundled) ? [process.execPath, [bundled]] : [bundled, []];
  return ["node-gyp", []];
}

const clean = (line) => line.replace(/\x1b\[[0-9;]*m/g, "").replace(/\s+/g, " ").trim();

/** Whether a program that could not be run is the C compiler (or the linker node-gyp drives through it). */
function isCompiler(program) {
  const name = program.replace(/^.*[\\/]/, "").replace(/\.exe$/i, "");
  const configured = [process.env.CC, process.env.CXX, process.env.LINK].filter(Boolean);
  return configured.includes(program) || /^(cc|c\+\+|gcc|g\+\+|clang|clang\+\+|cl)(-[\d.]+)?$/.test(name);
}

/** Why node-gyp failed, from the line of its output that says so. */
function reason(output, status) {
  const lines = output.split(/\r?\n/).map(clean).filter(Boolean);
  // A compiler that is not there: make's "make: cc: No such file or directory" (or "Command not
  // found"), or gyp's own probe of $CC at configure time ("FileNotFoundError: ...: '/bin/cc'").
  for (const l of lines) {
    const m =
      /^make(?:\[\d+\])?: (\S+): (?:No such file or directory|Command not found)/.exec(l) ??
      /^FileNotFoundError: .*No such file or directory: '(.+)'$/.exec(l);
    if (m && isCompiler(m[1]))
      return /\+\+(\.exe)?$/i.test(m[1]) || m[1] === process.env.CXX
        ? `no C++ compiler (node-gyp links with it): ${m[1]} not found`
        : `no C compiler: ${m[1]} not found`;
  }
  // Node's headers could not be downloaded (offline, no nodedir): say so rather than node-gyp's
  // generic "network connectivity" paragraph.
  const headers = lines.find((l) => /^gyp http GET \S+headers\.tar\.gz$/.test(l));
  if (headers && lines.some((l) => /^gyp WARN install got an error/.test(l)))
    return `could not download Node's headers (${headers.split(" ").pop()}): offline? npm's nodedir can point at local ones`;
  // The compiler's or make's first complaint (not node-gyp's "gyp ..." lines), e.g.
  // "../native/torch_normal.c:28:1: error: ..." or "make: printf: No such file or directory".
  const tool = lines.find(
    (l) => !/^gyp /.test(l) && /\berror\b|No such file or directory|not found|not recognized|cannot find|fatal/i.test(l),
  );
  if (tool) return `node-gyp failed: ${tool}`;
  // Otherwise node-gyp's own error: the message of "gyp ERR! stack Error: ...", which may run over
  // several lines before the stack frames (e.g. no Python, no Visual Studio, no network for headers).
  const stack = [];
  for (const l of lines) {
    const m = /^gyp ERR! stack (.*)$/.exec(l);
    if (!m) {
      if (stack.length) break;
      continue;
    }
    if (/^at /.test(m[1])) break;
    stack.push(m[1].replace(/^Error: /, ""));
  }
  if (stack.length) return `node-gyp failed: ${stack.join(" ")}`;
  const err = lines.find((l) => /^gyp ERR! /.test(l) && !/^gyp ERR! (System|command|cwd|node -v|node-gyp -v|not ok)\b/.test(l));
  return `node-gyp failed: ${err ?? `exit status ${status}`}`;
}

const [command, prefix] = nodeGypCommand();
const run = spawnSync(command, [...prefix, "rebuild"], {
  encoding: "utf8",
  maxBuffer: 64 * 1024 * 1024,
  // node-gyp on PATH is node-gyp.cmd on Windows, which only a shell runs.
  shell: process.platform === "win32" && prefix.length === 0 && command === "node-gyp",
});
if (run.status !== 0 || run.error) {
  let why;
  if (run.error) why = run.error.code === "ENOENT" ? "node-gyp not found" : `node-gyp did not run: ${run.error.message}`;
  // stderr first: the compiler's errors are there, stdout has make's progress lines.
  else why = reason(`${run.stderr}\n${run.stdout}`, run.status ?? run.signal);
  if (why.length > MAX_REASON) why = `${why.slice(0, MAX_REASON - 3)}...`;
  console.warn(`sweep: native addons not built (${why}); using the JavaScript noise (same numbers, slower), and a stopped worker exits only once its onnxruntime runs end`);
}
process.exit(0);
