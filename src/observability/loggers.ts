/**
 * Logger adapters: the `logger` option takes the loggers Node applications already have —
 * `console`, a pino logger, a winston logger, or anything with `debug`/`info`/`warn`/`error(message,
 * fields)` — and each gets the client's structured fields the way it expects them. A logger that
 * throws never breaks the client (the call is dropped).
 */
import { InvalidArgumentError } from '../errors/errors.js';
import type { Logger } from '../internal/logger.js';
import { describe } from '../internal/validate.js';

/** The levels the client logs at, lowest first. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/** Options of {@link consoleLogger}, {@link pinoLogger} and {@link winstonLogger}. */
export interface LoggerAdapterOptions {
  /**
   * Drop messages below this level before they reach the logger (pino and winston also apply
   * their own level).
   * @defaultValue 'debug' (everything)
   */
  level?: LogLevel;
}

/** The part of a pino logger the adapter uses: `logger[level](fields, message)`. */
export interface PinoLike {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
  bindings(): object;
}

/** The part of a winston logger the adapter uses: `logger.log(level, message, meta)`. */
export interface WinstonLike {
  log(level: string, message: string, meta: object): unknown;
  add(transport: unknown): unknown;
}

/** The part of `console` the adapter uses. */
export interface ConsoleLike {
  debug(message: string, ...rest: unknown[]): void;
  info(message: string, ...rest: unknown[]): void;
  warn(message: string, ...rest: unknown[]): void;
  error(message: string, ...rest: unknown[]): void;
}

/** Fields as the client passes them, plus `broker` (the broker address) where one is named `address`. */
function normalise(fields: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (fields === undefined) return undefined;
  if (fields.address !== undefined && fields.broker === undefined) return { ...fields, broker: fields.address };
  return fields;
}

function build(level: LogLevel, write: (level: LogLevel, message: string, fields: Record<string, unknown> | undefined) => void): Logger {
  const min = LEVELS.indexOf(level);
  const method = (l: LogLevel) =>
    LEVELS.indexOf(l) < min
      ? (): void => undefined
      : (message: string, fields?: Record<string, unknown>): void => {
          try {
            write(l, message, normalise(fields));
          } catch {
            // A logger that throws must not break the client; the message is dropped.
          }
        };
  return Object.freeze({ debug: method('debug'), info: method('info'), warn: method('warn'), error: method('error') });
}

function requireLevel(options: LoggerAdapterOptions | undefined): LogLevel {
  const level = options?.level ?? 'debug';
  if (!LEVELS.includes(level)) throw new InvalidArgumentError('options.level', `expected one of ${LEVELS.join(', ')}, got ${describe(level)}`);
  return level;
}

/**
 * `console` (or anything shaped like it) as the client's logger: `console.warn('rx-liftbridge:
 * retrying', { rpc, broker, attempt, ... })`.
 * @example
 * ```ts
 * connect({ brokers, logger: consoleLogger(console, { level: 'info' }) });
 * ```
 */
export function consoleLogger(target: ConsoleLike = console, options?: LoggerAdapterOptions): Logger {
  const level = requireLevel(options);
  return build(level, (l, message, fields) => {
    if (fields === undefined || Object.keys(fields).length === 0) target[l](`rx-liftbridge: ${message}`);
    else target[l](`rx-liftbridge: ${message}`, fields);
  });
}

/**
 * A pino logger as the client's logger: fields first, as pino wants them
 * (`logger.warn({ rpc, broker, attempt }, 'retrying')`), so they become JSON properties.
 * @example
 * ```ts
 * connect({ brokers, logger: pinoLogger(pino().child({ component: 'liftbridge' })) });
 * ```
 */
export function pinoLogger(target: PinoLike, options?: LoggerAdapterOptions): Logger {
  const level = requireLevel(options);
  return build(level, (l, message, fields) => target[l](fields ?? {}, message));
}

/**
 * A winston logger as the client's logger: `logger.log(level, message, fields)`, so the fields
 * become properties of the log entry (winston's default npm levels include all four).
 * @example
 * ```ts
 * connect({ brokers, logger: winstonLogger(winston.createLogger({ transports: [new winston.transports.Console()] })) });
 * ```
 */
export function winstonLogger(target: WinstonLike, options?: LoggerAdapterOptions): Logger {
  const level = requireLevel(options);
  return build(level, (l, message, fields) => target.log(l, message, fields ?? {}));
}

function isPino(value: Record<string, unknown>): boolean {
  const levels = value.levels as { values?: unknown } | undefined;
  return typeof value.bindings === 'function' && typeof value.child === 'function' && typeof levels?.values === 'object';
}

function isWinston(value: Record<string, unknown>): boolean {
  return typeof value.log === 'function' && typeof value.add === 'function' && typeof value.transports === 'object';
}

/**
 * The `logger` option resolved: a pino or winston logger (recognised by shape) gets its adapter,
 * anything else with the four methods is called as `logger[level](message, fields)` (console
 * fits), each call contained so that a throwing logger never breaks the client. @internal
 */
export function toLogger(value: Logger): Logger {
  const v = value as unknown as Record<string, unknown>;
  if (isPino(v)) return pinoLogger(value as unknown as PinoLike);
  if (isWinston(v)) return winstonLogger(value as unknown as WinstonLike);
  return build('debug', (l, message, fields) => (fields === undefined ? value[l](message) : value[l](message, fields)));
}
