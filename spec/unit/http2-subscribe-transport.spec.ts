/**
 * The HTTP/2 Subscribe transport against local servers that misbehave on purpose
 * (spec/support/h2-server.ts): what a call delivers and ends with for an OK end, a status after
 * some messages, a trailers-only NOT_FOUND, RST_STREAM and GOAWAY in the middle of the call, GOAWAY
 * before processing, a compressed message, a silent peer; that a paused call stops the server at
 * the flow-control window and delivers everything in order once resumed; that cancelling sends
 * RST_STREAM CANCEL; and that calls obey `maxStreamsPerConnection`. The real broker's side (errors,
 * backpressure, failover, TLS) is covered by the integration specs, which run over this transport.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectionError, type LiftbridgeError, NoSuchStreamError, PartitionPausedError } from '../../src/errors/errors.js';
import { mapError } from '../../src/errors/map-error.js';
import { StartPosition, type SubscribeRequest, type Message as WireMessage } from '../../src/generated/liftbridge/api.js';
import type { TransportSettings } from '../../src/transport/connection-pool.js';
import { Http2SubscribeTransport } from '../../src/transport/http2-subscribe-transport.js';
import type { SubscribeCall } from '../../src/transport/subscribe-call.js';
import { type H2SubscribeMode, type H2SubscribeServer, startH2Server, startSilentServer, startSubscribeServer } from '../support/h2-server.js';
import { subscribeRequest } from '../support/fixtures/wire.js';

const settings = (extra: Partial<TransportSettings> = {}): TransportSettings => ({
  tls: undefined,
  keepAliveMs: 60_000,
  keepAliveTimeoutMs: 20_000,
  maxStreamsPerConnection: 100,
  reconnectBackoffMs: { initial: 100, max: 2000 },
  maxReceiveMessageBytes: 4 * 1024 * 1024,
  channelOptions: {},
  ...extra,
});

const request = (startOffset = 0n): SubscribeRequest => subscribeRequest({ stream: 'orders', partition: 2, startPosition: StartPosition.OFFSET, startOffset });

interface Call {
  readonly call: SubscribeCall;
  readonly messages: WireMessage[];
  /** Resolves with the call's outcome (undefined: OK) once every message was delivered. */
  readonly end: Promise<unknown>;
  /** Resolves when the stream is closed. */
  readonly closed: Promise<void>;
  /** Whether `onEnd` ran. */
  ended(): boolean;
}

const transports: Http2SubscribeTransport[] = [];
const servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const t of transports.splice(0)) t.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function transport(extra: Partial<TransportSettings> = {}, connectTimeoutMs = 10_000): Http2SubscribeTransport {
  const t = new Http2SubscribeTransport(settings(extra), { connectTimeoutMs });
  transports.push(t);
  return t;
}

function open(t: Http2SubscribeTransport, address: string, onMessage?: (m: WireMessage, call: SubscribeCall) => void, startOffset = 0n): Call {
  const messages: WireMessage[] = [];
  let ended = false;
  let resolveEnd!: (e: unknown) => void;
  let resolveClosed!: () => void;
  const end = new Promise<unknown>((r) => (resolveEnd = r));
  const closed = new Promise<void>((r) => (resolveClosed = r));
  const call: SubscribeCall = t.open(address, request(startOffset), {
    onMessage: (m) => {
      messages.push(m);
      onMessage?.(m, call);
    },
    onEnd: (e) => {
      ended = true;
      resolveEnd(e);
    },
    onClosed: () => resolveClosed(),
  });
  return { call, messages, end, closed, ended: () => ended };
}

async function serve(mode: H2SubscribeMode): Promise<H2SubscribeServer> {
  const s = await startSubscribeServer(mode);
  servers.push(s);
  return s;
}

const mapped = (e: unknown): LiftbridgeError => mapError(e, { rpc: 'Subscribe', address: 'x' });

describe('HTTP/2 Subscribe transport', () => {
  it('sends the request with gRPC headers and delivers the handshake, every message in order and an OK end', async () => {
    const server = await serve({ type: 'serve', count: 500, valueBytes: 100, end: { code: 0, message: '' } });
    const c = open(transport(), server.address, undefined, 40n);
    expect(await c.end).toBeUndefined();
    await c.closed;
    expect(server.received).toEqual([request(40n)]);
    expect(server.headers[0]).toMatchObject({ ':method': 'POST', ':path': '/proto.API/Subscribe', 'content-type': 'application/grpc', te: 'trailers' });
    expect(c.messages).toHaveLength(501);
    expect(c.messages[0]?.offset).toBe(0n); // the empty handshake
    expect(c.messages.slice(1).map((m) => m.offset)).toEqual(Array.from({ length: 500 }, (_, i) => 40n + BigInt(i)));
    expect(c.messages.every((m, i) => i === 0 || (m.value.length === 100 && m.value[0] === Number(m.offset % 251n)))).toBe(true);
    expect(c.messages[1]).toMatchObject({ stream: 'orders', partition: 2 });
  });

  it('a status after some messages: the messages first, then the status with its percent-encoded text', async () => {
    const server = await serve({ type: 'serve', count: 3, end: { code: 9, message: 'partition is paused (50% done)' } });
    const c = open(transport(), server.address);
    const error = await c.end;
    expect(c.messages.slice(1).map((m) => m.offset)).toEqual([0n, 1n, 2n]);
    expect(error).toMatchObject({ code: 9, details: 'partition is paused (50% done)' });
    expect(mapped(error)).toBeInstanceOf(PartitionPausedError);
  });

  it('a trailers-only NOT_FOUND ends the call with it, before any message', async () => {
    const server = await serve({ type: 'trailers-only', code: 5, message: 'no such stream' });
    const c = open(transport(), server.address);
    const error = await c.end;
    expect(c.messages).toEqual([]);
    expect(error).toMatchObject({ code: 5, details: 'no such stream' });
    expect(mapped(error)).toBeInstanceOf(NoSuchStreamError);
  });

  it('RST_STREAM in the middle of the call: what arrived is delivered, then a connection error', async () => {
    const server = await serve({ type: 'reset-after', after: 3, code: 2 });
    const c = open(transport(), server.address);
    const error = await c.end;
    expect(c.messages.slice(1).map((m) => m.offset)).toEqual([0n, 1n, 2n]);
    expect(mapped(error)).toBeInstanceOf(ConnectionError);
    expect(mapped(error).message).toMatch(/closed without a status \(.*INTERNAL_ERROR|closed without a status \(HTTP\/2 error 2\)/);
  });

  it('GOAWAY in the middle of the call (the broker going away): a connection error after the messages', async () => {
    const server = await serve({ type: 'goaway-after', after: 2 });
    const c = open(transport(), server.address);
    const error = await c.end;
    expect(c.messages.slice(1).map((m) => m.offset)).toEqual([0n, 1n]);
    expect(mapped(error)).toBeInstanceOf(ConnectionError);
  });

  it('GOAWAY before the call was processed: a connection error saying the broker refused it', async () => {
    const server = await startH2Server({ type: 'goaway' });
    servers.push(server);
    const c = open(transport(), server.address);
    const error = await c.end;
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as Error).message).toMatch(/refused the call/);
  });

  it('a compressed message fails the call with INTERNAL and cancels the stream', async () => {
    const server = await serve({ type: 'compressed' });
    const c = open(transport(), server.address);
    const error = await c.end;
    expect(error).toMatchObject({ code: 13, details: expect.stringMatching(/compressed/) });
    await c.closed;
    await expect.poll(() => server.closeCodes, { timeout: 10_000 }).toEqual([8]);
  });

  it('a peer that accepts TCP and never speaks HTTP/2: a connection error after the connect timeout', async () => {
    const silent = await startSilentServer();
    servers.push(silent);
    const c = open(transport({}, 300), silent.address);
    const error = await c.end;
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as Error).message).toMatch(/Subscribe broker=.*no HTTP\/2 connection within 300 ms/);
  });

  it('a paused call stops the server at the flow-control window, and delivers everything in order once resumed', async () => {
    const window = 65_535;
    const valueBytes = 1000;
    const count = 2000; // ~2 MB: far beyond the window
    const server = await serve({ type: 'serve', count, valueBytes, end: { code: 0, message: '' } });
    const pauseAfter = 10;
    const c = open(transport({ flowControlWindowBytes: window }), server.address, (m, call) => {
      if (m.offset === BigInt(pauseAfter - 1)) call.pause();
    });
    // The server sends until the window is used up; then nothing moves while the call is paused.
    await expect.poll(() => c.messages.length, { timeout: 10_000 }).toBe(pauseAfter + 1);
    let before = -1;
    await expect
      .poll(
        () => {
          const now = server.sent;
          const settled = now === before;
          before = now;
          return settled;
        },
        { timeout: 20_000, interval: 300 },
      )
      .toBe(true);
    // Delivered + the stream window + one DATA chunk read before the pause (16 KiB), in messages.
    const frameBytes = valueBytes + 40;
    const bound = pauseAfter + Math.ceil((window + 16_384) / frameBytes) + 1;
    expect(server.sent).toBeLessThanOrEqual(bound);
    expect(c.messages).toHaveLength(pauseAfter + 1);
    expect(c.ended()).toBe(false);
    c.call.resume();
    expect(await c.end).toBeUndefined();
    expect(server.sent).toBe(count);
    expect(c.messages.slice(1).map((m) => m.offset)).toEqual(Array.from({ length: count }, (_, i) => BigInt(i)));
  });

  it('pause() and resume() from inside onMessage (a settle that frees the window at once) deliver each message once, in order', async () => {
    const count = 200;
    const server = await serve({ type: 'serve', count, valueBytes: 50, end: { code: 0, message: '' } });
    const c = open(transport(), server.address, (m, call) => {
      if (m.offset % 3n === 0n) {
        call.pause();
        call.resume();
      }
    });
    expect(await c.end).toBeUndefined();
    expect(c.messages.slice(1).map((m) => m.offset)).toEqual(Array.from({ length: count }, (_, i) => BigInt(i)));
  });

  it('cancel() resets the stream with CANCEL, reports no outcome and frees the stream slot', async () => {
    const server = await serve({ type: 'serve', count: 1 });
    const t = transport();
    const c = open(t, server.address);
    await expect.poll(() => c.messages.length, { timeout: 10_000 }).toBe(2);
    expect(t.stats()[0]?.connections[0]?.streams).toBe(1);
    c.call.cancel();
    await c.closed;
    await expect.poll(() => server.closeCodes, { timeout: 10_000 }).toEqual([8]);
    expect(c.ended()).toBe(false);
    expect(t.stats()[0]?.connections[0]?.streams).toBe(0);
  });

  it('calls obey maxStreamsPerConnection: 5 calls with a cap of 2 take 3 connections', async () => {
    const server = await serve({ type: 'serve', count: 1 });
    const t = transport({ maxStreamsPerConnection: 2 });
    const calls = [0, 1, 2, 3, 4].map(() => open(t, server.address));
    await expect.poll(() => calls.every((c) => c.messages.length === 2), { timeout: 10_000 }).toBe(true);
    const conns = t.stats()[0]?.connections ?? [];
    expect(conns.map((c) => c.streams).sort()).toEqual([1, 2, 2]);
    expect(server.sessions).toBe(3);
    for (const c of calls) c.call.cancel();
    await Promise.all(calls.map((c) => c.closed));
    expect((t.stats()[0]?.connections ?? []).reduce((n, c) => n + c.streams, 0)).toBe(0);
  });
});
