import { firstValueFrom } from 'rxjs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ConnectionError, connect, type LiftbridgeClient } from '../../src/index.js';
import { uniqueName, useSingleNode } from '../support/broker.js';
import { brokerTls, makeTestPki } from '../support/tls.js';

const pki = makeTestPki();
afterAll(() => pki.remove());
const clients: LiftbridgeClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.destroy()));
});
const noRetry = { maxRetries: 1, initialDelayMs: 10, totalTimeoutMs: 5_000 };

describe('TLS (server authentication)', () => {
  const broker = useSingleNode({ tls: brokerTls(pki) });

  it('connects when the client trusts the CA that signed the broker certificate', async () => {
    const lift = connect({ brokers: [broker.address], tls: { ca: pki.ca } });
    clients.push(lift);
    const name = uniqueName('tls');
    await firstValueFrom(lift.createStream({ name }));
    expect((await firstValueFrom(lift.publish(name, 'secret'))).offset).toBe(0n);
  });

  it('fails with ConnectionError when the broker certificate is not trusted', async () => {
    const lift = connect({ brokers: [broker.address], tls: { ca: pki.otherCa }, retry: noRetry });
    clients.push(lift);
    await expect(firstValueFrom(lift.metadata$)).rejects.toBeInstanceOf(ConnectionError);
  });

  it('fails with ConnectionError when a plaintext client talks to a TLS broker', async () => {
    const lift = connect({ brokers: [broker.address], retry: noRetry });
    clients.push(lift);
    await expect(firstValueFrom(lift.metadata$)).rejects.toBeInstanceOf(ConnectionError);
  });
});

describe('mutual TLS', () => {
  const broker = useSingleNode({
    tls: brokerTls(pki, { mutual: true }),
  });

  it('connects with a client certificate signed by the CA the broker requires', async () => {
    const lift = connect({ brokers: [broker.address], tls: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey } });
    clients.push(lift);
    const meta = await firstValueFrom(lift.metadata$);
    expect(meta.brokers[0]?.id).toBe(broker.id);
  });

  it('is refused without a client certificate', async () => {
    const lift = connect({ brokers: [broker.address], tls: { ca: pki.ca }, retry: noRetry });
    clients.push(lift);
    await expect(firstValueFrom(lift.metadata$)).rejects.toBeInstanceOf(ConnectionError);
  });
});
