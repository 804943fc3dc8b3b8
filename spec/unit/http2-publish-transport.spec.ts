/**
 * The HTTP/2 PublishAsync transport against local servers that misbehave on purpose
 * (spec/support/h2-server.ts): HTTP statuses, trailers-only answers, REFUSED_STREAM, GOAWAY,
 * split frames, a percent-encoded status text, a compressed response, RST_STREAM and GOAWAY in the
 * middle of a call, a stalled flow-control window, a silent peer, a closed port and an untrusted TLS
 * certificate. What a call ends with, how fast, and whether its messages provably never left the
 * client (`neverSent`).
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ConnectionError, type LiftbridgeError } from '../../src/errors/errors.js';
import { PublishResponse } from '../../src/generated/liftbridge/api.js';
import { Http2PublishTransport, PUBLISH_RESPONSE_WINDOW_BYTES } from '../../src/transport/http2-publish-transport.js';
import type { WireResult } from '../../src/transport/publish-call.js';
import type { TransportSettings } from '../../src/transport/connection-pool.js';
import { freePorts } from '../support/broker.js';
import { expectStalledWindowHonoured, framed } from '../support/fixtures/publish-wire.js';
import { type H2Mode, type H2TestServer, startH2Server, startSilentServer } from '../support/h2-server.js';
import { makeTestPki } from '../support/tls.js';

const settings = (tls?: TransportSettings['tls']): TransportSettings => ({
  tls,
  keepAliveMs: 60_000,
  keepAliveTimeoutMs: 20_000,
  maxStreamsPerConnection: 100,
  reconnectBackoffMs: { initial: 100, max: 2000 },
  maxReceiveMessageBytes: 4 * 1024 * 1024,
  channelOptions: {},
});

interface Outcome {
  readonly responses: string[];
  readonly wire: WireResult[];
  readonly error: LiftbridgeError | undefined;
  readonly ended: boolean;
  readonly ms: number;
}

const transports: Http2PublishTransport[] = [];
const servers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const t of transports.splice(0)) t.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** Opens a call, writes `n` messages and waits until the call ends (or `expectResponses` arrived). */
function run(t: Http2PublishTransport, address: string, n: number, expectResponses = -1): Promise<Outcome> {
  const started = Date.now();
  return new Promise((resolve) => {
    const responses: string[] = [];
    const wire: WireResult[] = [];
    let done = false;
    const finish = (error: LiftbridgeError | undefined, ended: boolean): void => {
      if (done) return;
      done = true;
      resolve({ responses, wire, error, ended, ms: Date.now() - started });
    };
    const call = t.open(address, {
      onMessage: (bytes, start, end) => {
        responses.push(PublishResponse.decode(bytes.subarray(start, end)).correlationId);
        if (responses.length === expectResponses) {
          call.cancel();
          finish(undefined, false);
        }
      },
      onError: (error) => finish(error, false),
      onEnd: () => finish(undefined, true),
    });
    for (let i = 0; i < n; i++) call.write(framed(`m${i}`), (r?: WireResult) => wire.push(r ?? 'written'));
  });
}

async function server(mode: H2Mode): Promise<H2TestServer> {
  const s = await startH2Server(mode);
  servers.push(s);
  return s;
}

function transport(tls?: TransportSettings['tls'], connectTimeoutMs = 1_000): Http2PublishTransport {
  const t = new Http2PublishTransport(settings(tls), { connectTimeoutMs });
  transports.push(t);
  return t;
}

describe('Http2PublishTransport against misbehaving servers', () => {
  it("maps every HTTP status like gRPC's HTTP-to-status table", async () => {
    const table: [number, string][] = [
      [400, 'INTERNAL'],
      [401, 'UNAUTHENTICATED'],
      [403, 'PERMISSION_DENIED'],
      [404, 'UNIMPLEMENTED'],
      [429, 'UNAVAILABLE'],
      [502, 'UNAVAILABLE'],
      [503, 'UNAVAILABLE'],
      [504, 'UNAVAILABLE'],
      [500, 'UNKNOWN'],
      [418, 'UNKNOWN'],
    ];
    const t = transport();
    for (const [status, grpc] of table) {
      const s = await server({ type: 'http-status', status });
      const out = await run(t, s.address, 1);
      expect(`${status} -> ${out.error?.grpcCode}`).toBe(`${status} -> ${grpc}`);
      expect(out.error?.message).toContain(`HTTP status ${status}`);
    }
  });

  it('a trailers-only answer ends the call with its status and text', async () => {
    const s = await server({ type: 'trailers-only', code: 14, message: 'going away now' });
    const out = await run(transport(), s.address, 2);
    expect(out.error).toBeInstanceOf(ConnectionError);
    expect(out.error?.message).toContain('going away now');
  });

  it('REFUSED_STREAM: the messages provably never reached the broker (neverSent)', async () => {
    const s = await server({ type: 'refuse' });
    const out = await run(transport(), s.address, 3);
    expect(out.error).toBeInstanceOf(ConnectionError);
    expect((out.error as ConnectionError).neverSent).toBe(true);
    // Handed to the socket or not, the broker refused the stream: the call says nothing was processed.
    expect(out.wire).toHaveLength(3);
    expect(s.received).toEqual([]);
  });

  it('GOAWAY before the stream was processed: neverSent', async () => {
    const s = await server({ type: 'goaway' });
    const out = await run(transport(), s.address, 3);
    expect(out.error).toBeInstanceOf(ConnectionError);
    expect((out.error as ConnectionError).neverSent).toBe(true);
    expect(s.received).toEqual([]);
  });

  it('gives the broker a 1 MiB window for acks, so the acks of 1024 messages in flight never wait for a window update', async () => {
    const s = await server({ type: 'ack' });
    const out = await run(transport(), s.address, 1024, 1024);
    expect(out.error).toBeUndefined();
    expect(out.responses).toHaveLength(1024);
    // HTTP/2's default (65,535) holds about 400 acks of ~150 bytes: the broker would stall on it.
    expect(s.clientStreamWindows).toEqual([PUBLISH_RESPONSE_WINDOW_BYTES]);
    expect(PUBLISH_RESPONSE_WINDOW_BYTES).toBe(1024 * 1024);
  });

  it('responses split across reads (one byte per DATA frame) are reassembled', async () => {
    const s = await server({ type: 'split' });
    const out = await run(transport(), s.address, 20, 20);
    expect(out.error).toBeUndefined();
    expect(out.responses).toEqual(Array.from({ length: 20 }, (_, i) => `m${i}`));
    expect(out.wire).toEqual(Array.from({ length: 20 }, () => 'written'));
  });

  it('a peer that accepts TCP and never speaks HTTP/2: ConnectionError within the connect timeout, nothing sent', async () => {
    const s = await startSilentServer();
    servers.push(s);
    const out = await run(transport(undefined, 300), s.address, 3);
    expect(out.error).toBeInstanceOf(ConnectionError);
    expect((out.error as ConnectionError).neverSent).toBe(true);
    expect(out.error?.message).toMatch(/no HTTP\/2 connection within 300 ms/);
    expect(out.ms).toBeLessThan(2_000);
    expect(out.wire).toEqual(['unsent', 'unsent', 'unsent']);
  });

  it("a percent-encoded grpc-message is decoded (spaces, '%', newline, non-ASCII)", async () => {
    const text = 'no such stream: a b%20c\nÄ—✓';
    const s = await server({ type: 'trailers-only', code: 5, message: text });
    const out = await run(transport(), s.address, 1);
    expect(out.error?.grpcCode).toBe('NOT_FOUND');
    expect(out.error?.message).toContain(text);
  });

  it('a response with the compressed flag set fails the call (INTERNAL), the message counted as possibly processed', async () => {
    const s = await server({ type: 'compressed' });
    const out = await run(transport(), s.address, 1);
    expect(out.error?.grpcCode).toBe('INTERNAL');
    expect(out.error?.message).toMatch(/compressed/);
    expect((out.error as ConnectionError | undefined)?.neverSent).not.toBe(true);
    expect(out.responses).toEqual([]);
  });

  it('RST_STREAM in the middle of a call: the answers before it arrive, the rest is not claimed unsent', async () => {
    const s = await server({ type: 'reset-after', after: 2, code: 2 /* INTERNAL_ERROR */ });
    const out = await run(transport(), s.address, 5);
    // The reset may drop answers the server had queued: what arrived is a prefix, in order.
    expect(out.responses).toEqual(['m0', 'm1'].slice(0, out.responses.length));
    expect(out.error).toBeInstanceOf(ConnectionError);
    expect((out.error as ConnectionError | undefined)?.neverSent).not.toBe(true);
    expect(out.error?.message).toMatch(/INTERNAL_ERROR|HTTP\/2 error 2/);
    // Every message reached the socket (the broker read them): none of them may be called unsent.
    expect(out.wire.filter((w) => w === 'unsent')).toEqual([]);
  });

  it('GOAWAY naming the stream as processed (a graceful shutdown): UNAVAILABLE, not neverSent; the next call opens a new connection', async () => {
    const s = await server({ type: 'goaway-after', after: 2 });
    const t = transport();
    const out = await run(t, s.address, 4);
    expect(out.responses).toEqual(['m0', 'm1']);
    expect(out.error).toBeInstanceOf(ConnectionError);
    expect(out.error?.grpcCode).toBe('UNAVAILABLE');
    expect(out.error?.message).toContain('server shutting down');
    expect((out.error as ConnectionError | undefined)?.neverSent).not.toBe(true);
    const next = await run(t, s.address, 1, 1);
    expect(next.error).toBeUndefined();
    expect(next.responses).toEqual(['m0']);
    expect(s.sessions).toBe(2);
  });

  it('a stalled flow-control window: bytes the socket did not take are not reported written; they flow once the peer reads', async () => {
    // write()'s answer is honoured: far fewer than all 64 are claimed written.
    await expectStalledWindowHonoured(transport(), await server({ type: 'stall' }), 32);
  });

  it('a closed port: the connect error itself (ECONNREFUSED) at once, neverSent', async () => {
    const [port] = await freePorts(1);
    const out = await run(transport(), `127.0.0.1:${port}`, 1);
    expect(out.error).toBeInstanceOf(ConnectionError);
    expect((out.error as ConnectionError).neverSent).toBe(true);
    expect(out.error?.message).toMatch(/ECONNREFUSED/);
    expect(out.ms).toBeLessThan(1_000);
  });
});

describe('Http2PublishTransport over TLS', () => {
  const pki = makeTestPki();
  afterAll(() => pki.remove());

  it('works with the CA that signed the server certificate', async () => {
    const { readFileSync } = await import('node:fs');
    const s = await startH2Server({ type: 'ack' }, { key: readFileSync(pki.serverKeyFile), cert: readFileSync(pki.serverCertFile) });
    servers.push(s);
    const out = await run(transport({ ca: pki.ca }), s.address, 5, 5);
    expect(out.error).toBeUndefined();
    expect(out.responses).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
  });

  it('a wrong CA surfaces as a TLS ConnectionError at once (not a timeout), neverSent', async () => {
    const { readFileSync } = await import('node:fs');
    const s = await startH2Server({ type: 'ack' }, { key: readFileSync(pki.serverKeyFile), cert: readFileSync(pki.serverCertFile) });
    servers.push(s);
    const out = await run(transport({ ca: pki.otherCa }, 5_000), s.address, 2);
    expect(out.error).toBeInstanceOf(ConnectionError);
    expect((out.error as ConnectionError).neverSent).toBe(true);
    expect(out.error?.message).toMatch(/TLS|certificate/i);
    expect(out.ms).toBeLessThan(2_000);
    expect(s.received).toEqual([]);
  });
});
