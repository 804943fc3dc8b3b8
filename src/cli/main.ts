#!/usr/bin/env node
/**
 * `rxlift`: the command line of rx-liftbridge, built on the package's public API only
 * (`../index.js`), so it could be its own package. See docs/cli.md.
 *
 * Exit codes: 0 success (also Ctrl-C ending a `tail --follow`), 1 a broker or data error (one
 * line: the typed error's code and message), 2 a usage error (bad option or argument).
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { registerBench } from './bench.js';
import { registerPublish } from './publish.js';
import { registerStreams } from './streams.js';
import { registerTail } from './tail.js';
import { registerCursors, registerGroup } from './cursors.js';
import { collect, parseDurationMs } from './parse.js';
import { describeError, resolveBrokers, type GlobalOptions, UsageError } from './context.js';

/** Builds the program. */
function buildProgram(): Command {
  const program = new Command('rxlift')
    .description('Command line for the Liftbridge streaming broker, built on rx-liftbridge.')
    .version(packageVersion(), '-V, --version')
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .addOption(
      new Option('-b, --brokers <host:port>', 'broker address (repeatable, or comma separated); default $LIFTBRIDGE_BROKERS, then 127.0.0.1:9292').argParser(
        collect((s: string) => s),
      ),
    )
    .option('--tls-ca <file>', 'PEM CA certificate that signs the brokers (turns TLS on)')
    .option('--tls-cert <file>', 'PEM client certificate, for mutual TLS (with --tls-key)')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .option('--tls-server-name <name>', 'name checked against the broker certificate')
    .option('-t, --timeout <duration>', 'time budget of each operation, retries included (e.g. 5s)', parseDurationMs, 10_000)
    .option('--json', 'machine-readable output: one JSON document or one JSON object per line', false);
  registerStreams(program);
  registerPublish(program);
  registerTail(program);
  registerCursors(program);
  registerGroup(program);
  registerBench(program);
  return program;
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    if (typeof pkg.version === 'string') return pkg.version;
  } catch {
    // Run from source: src/cli is two levels down.
  }
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/** Parses `argv` and runs the command; resolves to the exit code. */
async function run(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv as string[]);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return 0;
      return 2;
    }
    if (error instanceof UsageError) {
      process.stderr.write(`rxlift: ${error.message}\n`);
      return 2;
    }
    const opts = program.opts<GlobalOptions>();
    process.stderr.write(`${describeError(error, resolveBrokers(opts.brokers))}\n`);
    return 1;
  }
}

run(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`rxlift: ${String(error)}\n`);
    process.exitCode = 1;
  },
);
