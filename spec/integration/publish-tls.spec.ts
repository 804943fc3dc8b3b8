/**
 * PublishAsync over the default HTTP/2 transport to real TLS brokers: server authentication and
 * mutual TLS. Messages are read back.
 */
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { connect, type LiftbridgeClient, StartAt, StopAt } from '../../src/index.js';
import { publish } from '../../src/publish/publish.js';
import { publishTo } from '../../src/publish/publish-to.js';
import { uniqueName, useSingleNode } from '../support/broker.js';
import { makeTestPki } from '../support/tls.js';

const pki = makeTestPki();
afterAll(() => pki.remove());
const clients: LiftbridgeClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

async function roundTrip(lift: LiftbridgeClient): Promise<void> {
  const name = uniqueName('tls-pub');
  await firstValueFrom(lift.createStream({ name }));
  const one = await firstValueFrom(publish(lift, name, 'first', { ackPolicy: 'all' }));
  expect(one.offset).toBe(0n);
  const acks = await lastValueFrom(publishTo(lift, name, { maxInFlight: 64 })(Array.from({ length: 500 }, (_, i) => `m${i}`)).pipe(toArray()));
  expect(acks.map((a) => a.offset)).toEqual(Array.from({ length: 500 }, (_, i) => BigInt(i + 1)));
  const stored = await lastValueFrom(lift.subscribe(name, { startAt: StartAt.earliest(), stopAt: StopAt.offset(500n) }).pipe(toArray()));
  expect(stored.map((m) => new TextDecoder().decode(m.value))).toEqual(['first', ...Array.from({ length: 500 }, (_, i) => `m${i}`)]);
}

describe('PublishAsync over TLS (http2 transport)', () => {
  const broker = useSingleNode({ tls: { certFile: pki.serverCertFile, keyFile: pki.serverKeyFile, caFile: pki.caFile } });

  it('publishes and pipelines with the CA that signed the broker certificate', async () => {
    const lift = connect({ brokers: [broker.address], tls: { ca: pki.ca } });
    clients.push(lift);
    await roundTrip(lift);
  });
});

describe('PublishAsync over mutual TLS (http2 transport)', () => {
  const broker = useSingleNode({
    tls: {
      certFile: pki.serverCertFile,
      keyFile: pki.serverKeyFile,
      caFile: pki.caFile,
      clientAuth: { clientCertFile: `${pki.dir}/client.crt`, clientKeyFile: `${pki.dir}/client.key` },
    },
  });

  it('publishes and pipelines with the client certificate the broker requires', async () => {
    const lift = connect({ brokers: [broker.address], tls: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey } });
    clients.push(lift);
    await roundTrip(lift);
  });
});
