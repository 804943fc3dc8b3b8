/**
 * PublishAsync over grpc-js (`transport: 'grpc-js'`) against a local HTTP/2 server that never reads
 * (spec/support/h2-server.ts, mode `stall`): a message counts as written, and its ack deadline
 * starts, only once its bytes were handed to the socket. grpc-js's own retry buffer answers a
 * write at once while the message still sits in the client (up to 1 MiB per call by default), so
 * the SDK's channels keep that buffer at zero; this spec fails when they do not.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { resolveClientOptions } from '../../src/client-options.js';
import { PublishRequest, PublishResponse } from '../../src/generated/liftbridge/api.js';
import { ConnectionPool } from '../../src/transport/connection-pool.js';
import { GrpcJsPublishTransport } from '../../src/transport/grpc-js-publish-transport.js';
import type { WireResult } from '../../src/transport/publish-call.js';
import { type H2TestServer, startH2Server } from '../support/h2-server.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

function framed(correlationId: string, value: string): Buffer {
  const body = PublishRequest.encode({
    key: new Uint8Array(),
    value: Buffer.from(value),
    stream: 's',
    partition: 0,
    headers: {},
    ackInbox: '',
    correlationId,
    ackPolicy: 0,
    expectedOffset: -1n,
  }).finish();
  const out = Buffer.alloc(5 + body.length);
  out.writeUInt32BE(body.length, 1);
  out.set(body, 5);
  return out;
}

const pools: ConnectionPool[] = [];
const servers: H2TestServer[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) p.close();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('GrpcJsPublishTransport', () => {
  it('a stalled flow-control window: messages still in the client are not reported written; they flow once the peer reads', async () => {
    const s = await startH2Server({ type: 'stall' });
    servers.push(s);
    const pool = new ConnectionPool(resolveClientOptions({ brokers: [s.address] }).transport, silent, () => {});
    pools.push(pool);
    const t = new GrpcJsPublishTransport((address) => pool.acquireStream(address));
    const n = 64;
    const big = 'x'.repeat(32 * 1024); // 64 x 32 KiB = 2 MiB, far beyond the 64 KiB HTTP/2 windows
    const wire: WireResult[] = [];
    const responses: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      const call = t.open(s.address, {
        onMessage: (bytes, start, end) => {
          responses.push(PublishResponse.decode(bytes.subarray(start, end)).correlationId);
          if (responses.length === n) {
            call.cancel();
            resolve();
          }
        },
        onError: reject,
        onEnd: () => reject(new Error('ended early')),
      });
      for (let i = 0; i < n; i++) call.write(framed(`m${i}`, big), (r?: WireResult) => wire.push(r ?? 'written'));
    });
    await expect.poll(() => s.streams, { timeout: 10_000 }).toBe(1);
    let before = -1;
    await expect
      .poll(
        () => {
          const settled = wire.length === before;
          before = wire.length;
          return settled;
        },
        { timeout: 10_000, interval: 200 },
      )
      .toBe(true);
    // What the windows and the socket can take is a few of these 32 KiB messages, not 1 MiB of them.
    expect(wire.length).toBeLessThan(n / 4);
    expect(s.received).toEqual([]);
    s.resume();
    await done;
    expect(wire).toEqual(Array.from({ length: n }, () => 'written'));
    expect(responses).toEqual(Array.from({ length: n }, (_, i) => `m${i}`));
  });
});
