/**
 * PublishAsync over the default HTTP/2 transport to real TLS brokers: server authentication and
 * mutual TLS. Messages are read back.
 */
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ConnectionError, connect, type LiftbridgeClient, StartAt, StopAt } from '../../src/index.js';
import { publish } from '../../src/publish/publish.js';
import { publishTo } from '../../src/publish/publish-to.js';
import { uniqueName, useSingleNode } from '../support/broker.js';
import { brokerTls, makeTestPki } from '../support/tls.js';
import { Http2PublishTransport } from '../../src/transport/http2-publish-transport.js';
import type { WireResult } from '../../src/transport/publish-call.js';

const pki = makeTestPki();
afterAll(() => pki.remove());
const clients: LiftbridgeClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

async function roundTrip(lift: LiftbridgeClient, transport: 'http2' | 'grpc-js' = 'http2'): Promise<void> {
  const name = uniqueName('tls-pub');
  await firstValueFrom(lift.createStream({ name }));
  const one = await firstValueFrom(publish(lift, name, 'first', { ackPolicy: 'all', transport }));
  expect(one.offset).toBe(0n);
  const acks = await lastValueFrom(publishTo(lift, name, { maxInFlight: 64, transport })(Array.from({ length: 500 }, (_, i) => `m${i}`)).pipe(toArray()));
  expect(acks.map((a) => a.offset)).toEqual(Array.from({ length: 500 }, (_, i) => BigInt(i + 1)));
  const stored = await lastValueFrom(lift.subscribe(name, { startAt: StartAt.earliest(), stopAt: StopAt.offset(500n), transport }).pipe(toArray()));
  expect(stored.map((m) => new TextDecoder().decode(m.value))).toEqual(['first', ...Array.from({ length: 500 }, (_, i) => `m${i}`)]);
}

describe('PublishAsync over TLS (http2 transport)', () => {
  const broker = useSingleNode({ tls: brokerTls(pki) });

  it('publishes and pipelines with the CA that signed the broker certificate', async () => {
    const lift = connect({ brokers: [broker.address], tls: { ca: pki.ca } });
    clients.push(lift);
    await roundTrip(lift);
  });

  it('publishes over the grpc-js transport too (every call kind on one TLS client)', async () => {
    const lift = connect({ brokers: [broker.address], tls: { ca: pki.ca } });
    clients.push(lift);
    await roundTrip(lift, 'grpc-js');
    expect(new Set(lift.stats().connections.flatMap((c) => c.connections.map((x) => x.kind)))).toEqual(new Set(['grpc-js']));
    await roundTrip(lift, 'http2');
    expect(new Set(lift.stats().connections.flatMap((c) => c.connections.map((x) => x.kind)))).toEqual(new Set(['grpc-js', 'http2']));
  });
});

describe('PublishAsync over mutual TLS (http2 transport)', () => {
  const broker = useSingleNode({
    tls: brokerTls(pki, { mutual: true }),
  });

  it('publishes and pipelines with the client certificate the broker requires', async () => {
    const lift = connect({ brokers: [broker.address], tls: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey } });
    clients.push(lift);
    await roundTrip(lift);
  });

  it('every call kind under mTLS: unary, Subscribe and PublishAsync over both transports, each connection kind in stats()', async () => {
    const lift = connect({ brokers: [broker.address], tls: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey } });
    clients.push(lift);
    await roundTrip(lift, 'grpc-js');
    await roundTrip(lift, 'http2');
    const kinds = lift.stats().connections.flatMap((c) => c.connections.map((x) => x.kind));
    expect(new Set(kinds)).toEqual(new Set(['grpc-js', 'http2']));
  });

  it('PublishAsync without the client certificate fails with a ConnectionError that says nothing was sent', async () => {
    const transport = new Http2PublishTransport({
      tls: { ca: pki.ca },
      keepAliveMs: 60_000,
      keepAliveTimeoutMs: 20_000,
      maxStreamsPerConnection: 100,
      reconnectBackoffMs: { initial: 100, max: 2_000 },
      maxReceiveMessageBytes: 4 * 1024 * 1024,
      channelOptions: {},
    });
    try {
      const wire: WireResult[] = [];
      const error = await new Promise<unknown>((resolve) => {
        const call = transport.open(broker.address, { onMessage: () => undefined, onError: resolve, onEnd: () => resolve(undefined) });
        call.write(Buffer.from([0, 0, 0, 0, 0]), (r) => wire.push(r ?? 'written'));
      });
      expect(error).toBeInstanceOf(ConnectionError);
      expect((error as ConnectionError).neverSent).toBe(true);
      expect(wire).toEqual(['unsent']);
    } finally {
      transport.close();
    }
  });
});
