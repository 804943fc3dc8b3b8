/**
 * What every `rxlift` command shares: the global options, the terminal, a client factory and the
 * one-line error format.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { connect, LiftbridgeError, type ClientOptions, type LiftbridgeClient } from '../index.js';
import { detectTerminal, type Terminal } from './output.js';

/** Global options, after parsing. */
export interface GlobalOptions {
  readonly brokers?: string[];
  readonly tlsCa?: string;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
  readonly tlsServerName?: string;
  readonly timeout: number;
  readonly json: boolean;
}

/** What every command gets: the global options, the terminal, and a client factory. */
export interface Context {
  readonly options: GlobalOptions;
  readonly term: Terminal;
  readonly brokers: readonly string[];
  /** A client for this command; the caller closes it (see {@link withClient}). */
  client(): LiftbridgeClient;
}

const DEFAULT_BROKER = '127.0.0.1:9292';

/** Brokers from `--brokers`, else `LIFTBRIDGE_BROKERS` (comma separated), else 127.0.0.1:9292. */
export function resolveBrokers(flag: readonly string[] | undefined, env: NodeJS.ProcessEnv = process.env): string[] {
  const list = flag !== undefined && flag.length > 0 ? flag : (env.LIFTBRIDGE_BROKERS ?? '').split(',');
  const brokers = list
    .flatMap((b) => b.split(','))
    .map((b) => b.trim())
    .filter((b) => b !== '');
  return brokers.length > 0 ? brokers : [DEFAULT_BROKER];
}

export function contextOf(cmd: Command): Context {
  const options = cmd.optsWithGlobals<GlobalOptions>();
  const brokers = resolveBrokers(options.brokers);
  const term = detectTerminal();
  return {
    options,
    term,
    brokers,
    client: () => {
      const tls: ClientOptions['tls'] =
        options.tlsCa === undefined && options.tlsCert === undefined
          ? undefined
          : {
              ...(options.tlsCa === undefined ? {} : { ca: readFileSync(options.tlsCa) }),
              ...(options.tlsCert === undefined ? {} : { cert: readFileSync(options.tlsCert) }),
              ...(options.tlsKey === undefined ? {} : { key: readFileSync(options.tlsKey) }),
              ...(options.tlsServerName === undefined ? {} : { serverName: options.tlsServerName }),
            };
      return connect({
        brokers,
        ...(tls === undefined ? {} : { tls }),
        callTimeoutMs: options.timeout,
        closeTimeoutMs: Math.min(options.timeout, 5_000),
        retry: { maxRetries: 3, initialDelayMs: 100, maxDelayMs: 1_000, totalTimeoutMs: options.timeout },
      });
    },
  };
}

/** Runs `body` with a client and closes it afterwards, whatever happens. */
export async function withClient<T>(ctx: Context, body: (lift: LiftbridgeClient) => Promise<T>): Promise<T> {
  const lift = ctx.client();
  try {
    return await body(lift);
  } finally {
    await lift.close().catch(() => lift.destroy());
  }
}

/** One line for an error: the typed error's code and message, and for a connection error the brokers tried. */
export function describeError(error: unknown, brokers: readonly string[]): string {
  if (error instanceof LiftbridgeError) {
    const tried = error.code === 'CONNECTION' ? ` (tried ${brokers.join(', ')})` : '';
    return `rxlift: ${error.code}: ${error.message}${tried}`;
  }
  return `rxlift: ${error instanceof Error ? error.message : String(error)}`;
}

/** A usage error found while a command runs (after parsing): printed as one line, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
