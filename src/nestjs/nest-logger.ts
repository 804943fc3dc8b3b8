/**
 * The client's logger hook on a NestJS `LoggerService` (`Logger`, `ConsoleLogger`, or an app's own
 * service): `connect({ logger: nestLogger(app.get(Logger)) })`, or `LiftbridgeModule.forRoot({
 * logger: nestLogger(new Logger('Liftbridge')) })`.
 */
import type { LoggerService } from '@nestjs/common';
import { InvalidArgumentError, type LogLevel, type Logger } from '../index.js';

/** Options of {@link nestLogger}. */
export interface NestLoggerOptions {
  /**
   * The Nest context (the bracketed name in Nest's console output).
   * @defaultValue `'Liftbridge'`
   */
  context?: string;
  /**
   * The lowest level passed on (`'debug'` passes everything; Nest's own log levels filter too).
   * @defaultValue `'debug'`
   */
  level?: LogLevel;
}

const LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

/**
 * A client {@link Logger} that writes to a NestJS `LoggerService`: `debug` to `debug` (or `verbose`
 * when the service has no `debug`), `info` to `log`, `warn` to `warn`, `error` to `error`. The
 * structured fields (rpc, broker, stream, partition, attempt, ...) are passed as one object before
 * the context, which Nest's `ConsoleLogger` prints (and its JSON mode keeps as fields). A service
 * that throws never breaks the client: the line is dropped.
 *
 * @throws {InvalidArgumentError} when `service` has no `log`, `warn` and `error` methods (`service`),
 *   or `options.level` is not a level (`options.level`).
 * @example
 * ```ts
 * const lift = connect({ brokers, logger: nestLogger(new Logger('Orders'), { level: 'info' }) });
 * ```
 */
export function nestLogger(service: LoggerService, options: NestLoggerOptions = {}): Logger {
  for (const m of ['log', 'warn', 'error'] as const) {
    if (typeof (service as unknown as Record<string, unknown> | undefined)?.[m] !== 'function') {
      throw new InvalidArgumentError('service', `expected a NestJS LoggerService (with log, warn and error), missing ${m}()`);
    }
  }
  const context = options.context ?? 'Liftbridge';
  if (typeof context !== 'string') throw new InvalidArgumentError('options.context', 'expected a string');
  const level = options.level ?? 'debug';
  if (!LEVELS.includes(level)) throw new InvalidArgumentError('options.level', `expected one of ${LEVELS.join(', ')}, got ${String(level)}`);
  const min = LEVELS.indexOf(level);
  const write = (l: LogLevel, message: string, fields: Record<string, unknown> | undefined): void => {
    const target = l === 'debug' ? (service.debug ?? service.verbose) : l === 'info' ? service.log : l === 'warn' ? service.warn : service.error;
    if (target === undefined) return;
    const line = `rx-liftbridge: ${message}`;
    if (fields === undefined || Object.keys(fields).length === 0) target.call(service, line, context);
    else target.call(service, line, fields, context);
  };
  const method =
    (l: LogLevel) =>
    (message: string, fields?: Record<string, unknown>): void => {
      if (LEVELS.indexOf(l) < min) return;
      try {
        write(l, message, fields);
      } catch {
        // A logger that throws must not break the client; the line is dropped.
      }
    };
  return Object.freeze({ debug: method('debug'), info: method('info'), warn: method('warn'), error: method('error') });
}
