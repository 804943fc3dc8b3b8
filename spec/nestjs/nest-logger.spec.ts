/**
 * nestLogger(): the client's logger hook on a NestJS LoggerService. A real ConsoleLogger (JSON
 * mode, its output captured) receives what a real client logs while it fails to reach a closed
 * port: level, message, the structured fields and the context.
 */
import { ConsoleLogger, type LoggerService } from '@nestjs/common';
import { firstValueFrom } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, InvalidArgumentError, type LiftbridgeClient } from '../../src/index.js';
import { nestLogger } from '../../src/nestjs/index.js';
import { freePorts } from '../support/broker.js';

/** A ConsoleLogger in JSON mode whose lines are kept instead of printed. */
class CapturingLogger extends ConsoleLogger {
  readonly lines: Record<string, unknown>[] = [];
  constructor() {
    super({ json: true, logLevels: ['verbose', 'debug', 'log', 'warn', 'error', 'fatal'] });
  }
  protected override printMessages(
    messages: unknown[],
    context?: string,
    logLevel?: string,
    _stream?: 'stdout' | 'stderr',
    _errorStack?: unknown,
    params?: Record<string, unknown>,
  ): void {
    for (const m of messages) this.lines.push({ level: logLevel, context, message: m, params });
  }
}

const clients: LiftbridgeClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.destroy()));
});

describe('nestLogger()', () => {
  it("writes a real client's retries to a Nest ConsoleLogger with level, fields and context", async () => {
    const [port] = await freePorts(1);
    const nest = new CapturingLogger();
    const lift = connect({
      brokers: [`127.0.0.1:${port}`],
      retry: { maxRetries: 2, initialDelayMs: 10, maxDelayMs: 20 },
      logger: nestLogger(nest, { context: 'Orders' }),
    });
    clients.push(lift);
    await expect(firstValueFrom(lift.metadata$)).rejects.toThrow();
    expect(nest.lines.length).toBeGreaterThan(0);
    expect(nest.lines.every((l) => l.context === 'Orders')).toBe(true);
    const levels = new Set(nest.lines.map((l) => l.level));
    expect([...levels].every((l) => ['debug', 'log', 'warn', 'error'].includes(String(l)))).toBe(true);
    // A line with fields: the message and the fields object, the broker named.
    // Nest keeps a plain object among the arguments as the line's structured params (or as a
    // message of its own in older versions): the fields reach it either way.
    const fieldsOf = (l: Record<string, unknown>): Record<string, unknown> | undefined =>
      (l.params as Record<string, unknown> | undefined) ?? (typeof l.message === 'object' ? (l.message as Record<string, unknown>) : undefined);
    const withFields = nest.lines.find((l) => fieldsOf(l)?.broker !== undefined);
    expect(withFields, JSON.stringify(nest.lines.slice(0, 5))).toBeDefined();
    expect(fieldsOf(withFields!)?.broker).toBe(`127.0.0.1:${port}`);
  });

  it('maps the levels (debug falls back to verbose), honours `level`, and survives a throwing service', () => {
    const calls: [string, ...unknown[]][] = [];
    const service: LoggerService = {
      log: (...a: unknown[]) => void calls.push(['log', ...a]),
      warn: (...a: unknown[]) => void calls.push(['warn', ...a]),
      error: (...a: unknown[]) => void calls.push(['error', ...a]),
      verbose: (...a: unknown[]) => void calls.push(['verbose', ...a]),
    };
    const l = nestLogger(service);
    l.debug('d');
    l.info('i', { rpc: 'FetchMetadata' });
    l.warn('w');
    l.error('e', {});
    expect(calls).toEqual([
      ['verbose', 'rx-liftbridge: d', 'Liftbridge'],
      ['log', 'rx-liftbridge: i', { rpc: 'FetchMetadata' }, 'Liftbridge'],
      ['warn', 'rx-liftbridge: w', 'Liftbridge'],
      ['error', 'rx-liftbridge: e', 'Liftbridge'],
    ]);
    calls.length = 0;
    const quiet = nestLogger(service, { level: 'warn' });
    quiet.debug('d');
    quiet.info('i');
    quiet.warn('w');
    expect(calls.map((c) => c[0])).toEqual(['warn']);
    const broken = nestLogger({
      log: () => {
        throw new Error('logger down');
      },
      warn: () => undefined,
      error: () => undefined,
    });
    expect(() => broken.info('x')).not.toThrow();
  });

  it('rejects what is not a LoggerService, and a bad level, naming the field', () => {
    expect(() => nestLogger({} as LoggerService)).toThrow(InvalidArgumentError);
    expect(() => nestLogger({ log() {}, warn() {} } as unknown as LoggerService)).toThrow(/service.*error/);
    expect(() => nestLogger(new ConsoleLogger(), { level: 'loud' as never })).toThrow(/options\.level/);
  });
});
