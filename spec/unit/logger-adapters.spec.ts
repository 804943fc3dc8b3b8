import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { firstValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';
import winston from 'winston';
import { ConnectionError, InvalidArgumentError, type Logger, connect, consoleLogger, pinoLogger, winstonLogger } from '../../src/index.js';
import { toLogger } from '../../src/observability/loggers.js';

/** A writable that keeps each JSON line written to it. */
function lines(): { stream: Writable; entries: Record<string, unknown>[] } {
  const entries: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') entries.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { stream, entries };
}

/** A port nothing listens on (bound, then closed). */
async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** Makes the client log a `retrying` warning: an admin call to a broker that is not there. */
async function provokeRetry(logger: Logger): Promise<string> {
  const address = `127.0.0.1:${await deadPort()}`;
  const lift = connect({
    brokers: [address],
    logger,
    retry: { maxRetries: 1, initialDelayMs: 10, maxDelayMs: 10, totalTimeoutMs: 20_000 },
    callTimeoutMs: 2_000,
  });
  try {
    await expect(firstValueFrom(lift.createStream({ name: 'never' }))).rejects.toBeInstanceOf(ConnectionError);
  } finally {
    await lift.destroy();
  }
  return address;
}

describe('logger adapters', () => {
  it('pino: passed as is, logs structured fields first (rpc, broker, attempt) at pino levels', async () => {
    const out = lines();
    const logger = pino({ level: 'debug' }, out.stream);
    const address = await provokeRetry(logger as unknown as Logger);
    const retry = out.entries.find((e) => e.msg === 'retrying');
    expect(retry).toMatchObject({ level: 40, rpc: 'CreateStream', broker: address, attempt: 1 });
  });

  it('winston: passed as is, fields become properties of the entry', async () => {
    const out = lines();
    const logger = winston.createLogger({ level: 'debug', format: winston.format.json(), transports: [new winston.transports.Stream({ stream: out.stream })] });
    const address = await provokeRetry(logger as unknown as Logger);
    const retry = out.entries.find((e) => e.message === 'retrying');
    expect(retry).toMatchObject({ level: 'warn', rpc: 'CreateStream', broker: address, attempt: 1 });
    logger.close();
  });

  it('console: called as console[level](message, fields); consoleLogger prefixes and filters by level', async () => {
    const calls: [string, unknown[]][] = [];
    const fake = {
      debug: (...a: unknown[]) => calls.push(['debug', a]),
      info: (...a: unknown[]) => calls.push(['info', a]),
      warn: (...a: unknown[]) => calls.push(['warn', a]),
      error: (...a: unknown[]) => calls.push(['error', a]),
    };
    const address = await provokeRetry(fake);
    expect(calls.find(([, a]) => a[0] === 'retrying')).toEqual([
      'warn',
      ['retrying', expect.objectContaining({ rpc: 'CreateStream', broker: address, attempt: 1 })],
    ]);

    calls.length = 0;
    const filtered = consoleLogger(fake, { level: 'warn' });
    filtered.debug('hidden', { stream: 's' });
    filtered.info('hidden too');
    filtered.warn('shown', { stream: 's', partition: 1, address: 'h:1' });
    filtered.error('plain');
    expect(calls).toEqual([
      ['warn', ['rx-liftbridge: shown', { stream: 's', partition: 1, address: 'h:1', broker: 'h:1' }]],
      ['error', ['rx-liftbridge: plain']],
    ]);
    expect(() => consoleLogger(fake, { level: 'loud' as never })).toThrow(InvalidArgumentError);
  });

  it('pinoLogger / winstonLogger take a level; a logger that throws never breaks the caller', () => {
    const p = lines();
    const pl = pinoLogger(pino({ level: 'trace' }, p.stream), { level: 'info' });
    pl.debug('dropped');
    pl.info('kept', { stream: 'orders', partition: 2 });
    expect(p.entries.map((e) => [e.msg, e.stream, e.partition])).toEqual([['kept', 'orders', 2]]);

    const w = lines();
    const wl = winstonLogger(
      winston.createLogger({ level: 'debug', format: winston.format.json(), transports: [new winston.transports.Stream({ stream: w.stream })] }),
      { level: 'error' },
    );
    wl.warn('dropped');
    wl.error('kept', { rpc: 'Subscribe' });
    expect(w.entries.map((e) => [e.message, e.rpc])).toEqual([['kept', 'Subscribe']]);

    const throwing = toLogger({
      debug: () => {
        throw new Error('x');
      },
      info: () => {
        throw new Error('x');
      },
      warn: () => {
        throw new Error('x');
      },
      error: () => {
        throw new Error('x');
      },
    });
    expect(() => throwing.error('boom', { stream: 's' })).not.toThrow();
  });

  it("a logger that throws does not change an operation's outcome (regression: the throw ended the call instead)", async () => {
    const thrower = (): never => {
      throw new Error('logger broke');
    };
    const address = `127.0.0.1:${await deadPort()}`;
    const lift = connect({
      brokers: [address],
      logger: { debug: thrower, info: thrower, warn: thrower, error: thrower },
      retry: { maxRetries: 2, initialDelayMs: 10, maxDelayMs: 10 },
      callTimeoutMs: 2_000,
    });
    try {
      const error = await firstValueFrom(lift.createStream({ name: 'never' })).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConnectionError);
    } finally {
      await lift.destroy();
    }
  });

  it('is silent by default', async () => {
    const writes: unknown[] = [];
    const original = { debug: console.debug, info: console.info, warn: console.warn, error: console.error, log: console.log };
    for (const k of Object.keys(original) as (keyof typeof original)[]) console[k] = (...a: unknown[]) => writes.push(a);
    try {
      const address = `127.0.0.1:${await deadPort()}`;
      const lift = connect({ brokers: [address], retry: { maxRetries: 1, initialDelayMs: 10, maxDelayMs: 10 }, callTimeoutMs: 2_000 });
      await expect(firstValueFrom(lift.createStream({ name: 'never' }))).rejects.toBeInstanceOf(ConnectionError);
      await lift.destroy();
    } finally {
      Object.assign(console, original);
    }
    expect(writes).toEqual([]);
  });
});
