import { asyncScheduler, queueScheduler } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CLIENT_OPTIONS, parseBrokerAddress, resolveClientOptions, type ClientOptions } from '../../src/client-options.js';
import { InvalidArgumentError } from '../../src/errors/errors.js';
import { silentLogger } from '../../src/internal/logger.js';
import { roundRobin } from '../../src/retry/failover.js';
import { DEFAULT_RETRY } from '../../src/retry/retry-policy.js';

function invalidField(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(InvalidArgumentError);
    return (e as InvalidArgumentError).field;
  }
  throw new Error('expected an InvalidArgumentError, nothing was thrown');
}

const resolve = (extra: Record<string, unknown>): ReturnType<typeof resolveClientOptions> =>
  resolveClientOptions({ brokers: ['127.0.0.1:9292'], ...extra } as ClientOptions);

describe('DEFAULT_CLIENT_OPTIONS', () => {
  it('holds the documented defaults and is frozen', () => {
    expect(DEFAULT_CLIENT_OPTIONS).toEqual({
      failover: 'round-robin',
      callTimeoutMs: 10_000,
      keepAliveTimeMs: 300_000,
      keepAliveTimeoutMs: 20_000,
      serverMinKeepAliveMs: 300_000,
      maxStreamsPerConnection: 100,
      metadataRefreshMs: 30_000,
      reconnectBackoffInitialMs: 100,
      reconnectBackoffMaxMs: 2_000,
      maxReceiveMessageBytes: 4 * 1024 * 1024,
      closeTimeoutMs: 5_000,
    });
    expect(Object.isFrozen(DEFAULT_CLIENT_OPTIONS)).toBe(true);
  });
});

describe('parseBrokerAddress', () => {
  it.each([['127.0.0.1:9292'], ['localhost:1'], ['broker-1.example.com:65535'], ['[::1]:9292'], ['[2001:db8::1]:80'], ['a:1']])('accepts %s', (address) => {
    expect(parseBrokerAddress('brokers[0]', address)).toBe(address);
  });

  it.each([
    ['localhost'],
    ['host:0'],
    ['host:65536'],
    ['host:99999'],
    ['host:123456'],
    [':9292'],
    ['a b:1'],
    ['host:'],
    ['host:port'],
    ['-host:1'],
    ['host-:1'],
    ['::1:9292'],
    ['[::1]'],
    ['http://host:1'],
    [''],
    [9292],
    [null],
  ])('rejects %o naming the field', (address) => {
    expect(invalidField(() => parseBrokerAddress('brokers[2]', address))).toBe('brokers[2]');
  });
});

describe('resolveClientOptions', () => {
  it('fills in the documented defaults', () => {
    const o = resolveClientOptions({ brokers: ['127.0.0.1:9292'] });
    expect(o.brokers).toEqual(['127.0.0.1:9292']);
    expect(o.failover).toBe(roundRobin);
    expect(o.retry).toEqual({ ...DEFAULT_RETRY, onRetry: undefined });
    expect(o.callTimeoutMs).toBe(DEFAULT_CLIENT_OPTIONS.callTimeoutMs);
    expect(o.metadataRefreshMs).toBe(DEFAULT_CLIENT_OPTIONS.metadataRefreshMs);
    expect(o.closeTimeoutMs).toBe(DEFAULT_CLIENT_OPTIONS.closeTimeoutMs);
    expect(o.transport).toEqual({
      tls: undefined,
      keepAliveMs: DEFAULT_CLIENT_OPTIONS.keepAliveTimeMs,
      keepAliveTimeoutMs: DEFAULT_CLIENT_OPTIONS.keepAliveTimeoutMs,
      maxStreamsPerConnection: DEFAULT_CLIENT_OPTIONS.maxStreamsPerConnection,
      reconnectBackoffMs: { initial: DEFAULT_CLIENT_OPTIONS.reconnectBackoffInitialMs, max: DEFAULT_CLIENT_OPTIONS.reconnectBackoffMaxMs },
      maxReceiveMessageBytes: DEFAULT_CLIENT_OPTIONS.maxReceiveMessageBytes,
      channelOptions: {},
    });
    expect(o.logger).toBe(silentLogger);
    expect(o.scheduler).toBe(asyncScheduler);
    expect(o.random).toBe(Math.random);
    expect(Object.isFrozen(o)).toBe(true);
    expect(Object.isFrozen(o.transport)).toBe(true);
  });

  it('keeps every valid option it is given', () => {
    const random = (): number => 0.5;
    const logged: unknown[][] = [];
    const logger = { debug: () => undefined, info: () => undefined, warn: (...a: unknown[]) => void logged.push(a), error: () => undefined };
    const onRetry = (): void => undefined;
    const o = resolveClientOptions({
      brokers: ['a:1', 'b:2'],
      failover: 'shuffle',
      retry: { maxRetries: 2, initialDelayMs: 10, maxDelayMs: 20, multiplier: 1.5, jitter: 0, totalTimeoutMs: 1_000, onRetry },
      callTimeoutMs: 500,
      tls: { ca: 'CA', cert: Buffer.from('C'), key: 'K', serverName: 'broker.local' },
      keepAlive: { timeMs: 60_000, timeoutMs: 5_000, serverMinTimeMs: 60_000 },
      maxStreamsPerConnection: 10,
      metadataRefreshMs: 0,
      reconnectBackoff: { initialMs: 50, maxMs: 50 },
      maxReceiveMessageBytes: 1024,
      closeTimeoutMs: 0,
      logger,
      channelOptions: { 'grpc.enable_retries': 0 },
      scheduler: queueScheduler,
      random,
    });
    expect(o.brokers).toEqual(['a:1', 'b:2']);
    expect(o.failover).not.toBe(roundRobin);
    expect(o.retry).toEqual({ maxRetries: 2, initialDelayMs: 10, maxDelayMs: 20, multiplier: 1.5, jitter: 0, totalTimeoutMs: 1_000, onRetry });
    expect(o.callTimeoutMs).toBe(500);
    expect(o.transport.tls).toEqual({ ca: 'CA', cert: Buffer.from('C'), key: 'K', serverName: 'broker.local' });
    expect(o.transport.keepAliveMs).toBe(60_000);
    expect(o.transport.keepAliveTimeoutMs).toBe(5_000);
    expect(o.transport.maxStreamsPerConnection).toBe(10);
    expect(o.transport.reconnectBackoffMs).toEqual({ initial: 50, max: 50 });
    expect(o.transport.maxReceiveMessageBytes).toBe(1024);
    expect(o.transport.channelOptions).toEqual({ 'grpc.enable_retries': 0 });
    expect(o.metadataRefreshMs).toBe(0);
    expect(o.closeTimeoutMs).toBe(0);
    // Kept behind a wrapper that contains a throwing logger: calls reach it unchanged.
    o.logger.warn('w', { rpc: 'R' });
    expect(logged).toEqual([['w', { rpc: 'R' }]]);
    expect(o.scheduler).toBe(queueScheduler);
    expect(o.random).toBe(random);
  });

  it('shuffle failover uses the given random source', () => {
    const o = resolve({ brokers: ['a:1', 'b:1', 'c:1'], failover: 'shuffle', random: () => 0 });
    const iter = o.failover(['a:1', 'b:1', 'c:1'])[Symbol.iterator]();
    expect([iter.next().value, iter.next().value, iter.next().value]).toEqual(['b:1', 'c:1', 'a:1']);
  });

  it('accepts a comma-separated broker string and removes duplicates', () => {
    expect(resolveClientOptions({ brokers: 'a:1, b:2,a:1' }).brokers).toEqual(['a:1', 'b:2']);
    expect(resolveClientOptions({ brokers: ['a:1', 'a:1'] }).brokers).toEqual(['a:1']);
  });

  it.each([
    [{ brokers: [] }, 'brokers'],
    [{ brokers: undefined }, 'brokers'],
    [{ brokers: 42 }, 'brokers'],
    [{ brokers: ['localhost'] }, 'brokers[0]'],
    [{ brokers: ['a:1', 'host:0'] }, 'brokers[1]'],
    [{ brokers: ['host:99999'] }, 'brokers[0]'],
    [{ brokers: [':9292'] }, 'brokers[0]'],
    [{ brokers: ['a b:1'] }, 'brokers[0]'],
    [{ brokers: 'a:1,' }, 'brokers[1]'],
    [{ brokers: ['a:1', 7] }, 'brokers[1]'],
  ])('rejects brokers %o naming %s', (options, field) => {
    expect(invalidField(() => resolveClientOptions(options as unknown as ClientOptions))).toBe(field);
  });

  it('rejects an empty broker string with a brokers field', () => {
    expect(invalidField(() => resolveClientOptions({ brokers: '' }))).toMatch(/^brokers/);
  });

  it.each([
    [{ maxRetry: 3 }, 'maxRetry'],
    [{ timeoutMs: 3 }, 'timeoutMs'],
    [{ failover: 'random' }, 'failover'],
    [{ failover: 1 }, 'failover'],
    [{ random: 0.5 }, 'random'],
    [{ retry: { maxRetry: 3 } }, 'retry.maxRetry'],
    [{ retry: { maxRetries: -1 } }, 'retry.maxRetries'],
    [{ retry: { initialDelayMs: -1 } }, 'retry.initialDelayMs'],
    [{ retry: { jitter: 1.5 } }, 'retry.jitter'],
    [{ retry: { initialDelayMs: 1_000, maxDelayMs: 999 } }, 'retry.maxDelayMs'],
    [{ retry: { multiplier: 0.9 } }, 'retry.multiplier'],
    [{ retry: { totalTimeoutMs: 0 } }, 'retry.totalTimeoutMs'],
    [{ retry: 'fast' }, 'retry'],
    [{ callTimeoutMs: -1 }, 'callTimeoutMs'],
    [{ callTimeoutMs: 0 }, 'callTimeoutMs'],
    [{ callTimeoutMs: Number.NaN }, 'callTimeoutMs'],
    [{ callTimeoutMs: '1000' }, 'callTimeoutMs'],
    [{ keepAlive: { timeMs: 299_999 } }, 'keepAlive.timeMs'],
    [{ keepAlive: { timeMs: 10_000 } }, 'keepAlive.timeMs'],
    [{ keepAlive: { timeMs: 10_000, serverMinTimeMs: 20_000 } }, 'keepAlive.timeMs'],
    [{ keepAlive: { timeMs: -1 } }, 'keepAlive.timeMs'],
    [{ keepAlive: { timeoutMs: 0 } }, 'keepAlive.timeoutMs'],
    [{ keepAlive: { serverMinTimeMs: -1 } }, 'keepAlive.serverMinTimeMs'],
    [{ keepAlive: { intervalMs: 1 } }, 'keepAlive.intervalMs'],
    [{ keepAlive: true }, 'keepAlive'],
    [{ maxStreamsPerConnection: 0 }, 'maxStreamsPerConnection'],
    [{ maxStreamsPerConnection: 1.5 }, 'maxStreamsPerConnection'],
    [{ maxStreamsPerConnection: 10_001 }, 'maxStreamsPerConnection'],
    [{ metadataRefreshMs: -1 }, 'metadataRefreshMs'],
    [{ reconnectBackoff: { initialMs: 0 } }, 'reconnectBackoff.initialMs'],
    [{ reconnectBackoff: { maxMs: -1 } }, 'reconnectBackoff.maxMs'],
    [{ reconnectBackoff: { initialMs: 500, maxMs: 100 } }, 'reconnectBackoff.maxMs'],
    [{ reconnectBackoff: { max: 1 } }, 'reconnectBackoff.max'],
    [{ maxReceiveMessageBytes: 1023 }, 'maxReceiveMessageBytes'],
    [{ maxReceiveMessageBytes: 2 ** 31 }, 'maxReceiveMessageBytes'],
    [{ closeTimeoutMs: -1 }, 'closeTimeoutMs'],
    [{ tls: { cert: 'C' } }, 'tls.key'],
    [{ tls: { key: 'K' } }, 'tls.cert'],
    [{ tls: { ca: 5 } }, 'tls.ca'],
    [{ tls: { serverName: 5 } }, 'tls.serverName'],
    [{ tls: { insecure: true } }, 'tls.insecure'],
    [{ tls: 'yes' }, 'tls'],
    [{ logger: console.log }, 'logger'],
    [{ logger: { debug() {}, info() {}, warn() {} } }, 'logger.error'],
    [{ channelOptions: [] }, 'channelOptions'],
  ])('rejects %o naming %s', (extra, field) => {
    expect(invalidField(() => resolve(extra))).toBe(field);
  });

  it('rejects non-object options', () => {
    expect(invalidField(() => resolveClientOptions(null as never))).toBe('options');
    expect(invalidField(() => resolveClientOptions('a:1' as never))).toBe('options');
  });

  it('accepts keepAlive.timeMs exactly at the server minimum, and lower when the minimum is lowered', () => {
    expect(resolve({ keepAlive: { timeMs: 300_000 } }).transport.keepAliveMs).toBe(300_000);
    expect(resolve({ keepAlive: { timeMs: 30_000, serverMinTimeMs: 30_000 } }).transport.keepAliveMs).toBe(30_000);
  });

  it('accepts TLS without client certificate, and console as a logger', () => {
    expect(resolve({ tls: {} }).transport.tls).toEqual({});
    const warn = console.warn;
    const seen: unknown[][] = [];
    console.warn = (...a: unknown[]) => void seen.push(a);
    try {
      resolve({ logger: console }).logger.warn('via console', { stream: 's' });
    } finally {
      console.warn = warn;
    }
    expect(seen).toEqual([['via console', { stream: 's' }]]);
  });

  it('the error message names the field and the problem', () => {
    try {
      resolve({ keepAlive: { timeMs: 60_000 } });
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toMatch(/^Invalid keepAlive\.timeMs: 60000 ms is below the server's minimum ping interval \(300000 ms\)/);
    }
  });
});

describe('flowControlWindowBytes', () => {
  it('sets the grpc-js flow-control window, and rejects windows below the HTTP/2 minimum', () => {
    const resolved = resolveClientOptions({ brokers: ['127.0.0.1:9292'], flowControlWindowBytes: 1_048_576 });
    expect(resolved.transport.channelOptions['grpc-node.flow_control_window']).toBe(1_048_576);
    expect(resolveClientOptions({ brokers: ['127.0.0.1:9292'] }).transport.channelOptions['grpc-node.flow_control_window']).toBeUndefined();
    expect(() => resolveClientOptions({ brokers: ['127.0.0.1:9292'], flowControlWindowBytes: 1000 })).toThrow(/flowControlWindowBytes/);
  });
});
