/**
 * The `sweep` command line: the commands assembled, and what an error means to the user. Returns
 * the exit code: 0 ok, 1 failed searches, 2 bad input (every InputError), 130 interrupted.
 * A command's module declares its flags; its handler imports the work (dynamic import) only when
 * that command runs, so starting the CLI (a local worker, --help) loads no other command's
 * libraries: 0.14 s instead of 0.4 s to --version (`node bench/cli-startup.mjs`).
 */
import yargs from "yargs";
import { ConfigError } from "../config/config-error.js";
import { InputError } from "../domain/input-error.js";
import { VERSION } from "../version.js";
import { fileSystemError } from "./file-system-error.js";
import { UsageError, type CommandResult } from "./flags.js";
import { modelsCommand } from "./models.js";
import { noiseCommand } from "./noise.js";
import { planCommand } from "./plan.js";
import { renderCommand } from "./render.js";
import { reportCommand } from "./report.js";
import { rescoreCommand } from "./rescore.js";
import { runCommand } from "./run.js";
import { scoreCommand } from "./score.js";
import { workerCommand } from "./worker.js";

/**
 * An input error as the user sees it: the subject (the flag or file it is about) before the
 * message, which does not repeat it. A command-line mistake points to --help; a config error
 * starts with its place in the YAML (file:line:col, one line per problem), as a compiler's does;
 * any other is prefixed with the command.
 */
function inputErrorText(e: InputError, command: string | undefined): string {
  const text = e.subject ? `${e.subject}: ${e.message}` : e.message;
  if (e.usage) return `sweep: ${text}\nRun 'sweep --help' for usage.\n`;
  if (e instanceof ConfigError) return `${text}\n`;
  return `sweep ${command}: ${text}\n`;
}

export async function main(argv: string[]): Promise<number> {
  const result: CommandResult = { exitCode: 0 };
  let parser = yargs(argv)
    .scriptName("sweep")
    .version(VERSION)
    .strict()
    .demandCommand(1, "name a command: run, worker, plan, report, noise, render, models, score or rescore")
    .exitProcess(false)
    .updateStrings({ "Arguments %s and %s are mutually exclusive": "give --%s or --%s, not both" })
    .fail((msg, err) => {
      // yargs' own complaints (an unknown flag, a missing value, a coerce that threw, whose error
      // yargs keeps only the message of) are command-line mistakes; a command's errors pass through.
      if (err instanceof InputError || (err && err.name !== "YError")) throw err;
      throw new UsageError(msg ?? err?.message ?? "");
    });
  parser = runCommand(parser, result);
  parser = workerCommand(parser);
  parser = planCommand(parser);
  parser = reportCommand(parser);
  parser = noiseCommand(parser);
  parser = renderCommand(parser, result);
  parser = modelsCommand(parser);
  parser = scoreCommand(parser);
  parser = rescoreCommand(parser);
  try {
    await parser.help().parseAsync();
  } catch (e) {
    const fs = fileSystemError(e, argv[0]);
    if (fs) {
      process.stderr.write(fs.text);
      return fs.exitCode;
    }
    if (!(e instanceof InputError)) throw e;
    process.stderr.write(inputErrorText(e, argv[0]));
    return e.exitCode;
  }
  return result.exitCode;
}
