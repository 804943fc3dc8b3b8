/**
 * PublishAsync over grpc-js (`transport: 'grpc-js'`) against a local HTTP/2 server that never reads
 * (spec/support/h2-server.ts, mode `stall`): a message counts as written, and its ack deadline
 * starts, only once its bytes were handed to the socket. grpc-js's own retry buffer answers a
 * write at once while the message still sits in the client (up to 1 MiB per call by default), so
 * the SDK's channels keep that buffer at zero; this spec fails when they do not.
 */
import { afterEach, describe, it } from 'vitest';
import { resolveClientOptions } from '../../src/client-options.js';
import { ConnectionPool } from '../../src/transport/connection-pool.js';
import { GrpcJsPublishTransport } from '../../src/transport/grpc-js-publish-transport.js';
import { expectStalledWindowHonoured } from '../support/fixtures/publish-wire.js';
import { type H2TestServer, startH2Server } from '../support/h2-server.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

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
    // What the windows and the socket can take is a few of these 32 KiB messages, not 1 MiB of them.
    await expectStalledWindowHonoured(t, s, 16);
  });
});
