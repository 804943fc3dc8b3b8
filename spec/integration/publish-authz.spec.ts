/**
 * PermissionDeniedError on a real broker with mutual TLS and its (experimental, casbin) ACLs: the
 * client certificate's CN may publish to one stream and not to another. Also runs both publish
 * transports over mutual TLS.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { connect, type LiftbridgeClient, PermissionDeniedError } from '../../src/index.js';
import { publish } from '../../src/publish/publish.js';
import { publishTo } from '../../src/publish/publish-to.js';
import { publishToSubject } from '../../src/publish/publish-to-subject.js';
import { uniqueName, useSingleNode } from '../support/broker.js';
import { brokerTls, makeTestPki } from '../support/tls.js';

const pki = makeTestPki();
afterAll(() => pki.remove());
const CN = 'rx-liftbridge-test-client';
const allowed = uniqueName('allowed');
const denied = uniqueName('denied');

const model = join(pki.dir, 'model.conf');
const policy = join(pki.dir, 'policy.csv');
writeFileSync(
  model,
  [
    '[request_definition]',
    'r = sub, obj, act',
    '[policy_definition]',
    'p = sub, obj, act',
    '[policy_effect]',
    'e = some(where (p.eft == allow))',
    '[matchers]',
    'm = r.sub == p.sub && keyMatch(r.obj, p.obj) && r.act == p.act',
    '',
  ].join('\n'),
);
writeFileSync(
  policy,
  [
    `p, ${CN}, *, FetchMetadata`,
    // the harness's readiness probe
    `p, ${CN}, harness-ready-*, CreateStream`,
    `p, ${CN}, harness-ready-*, DeleteStream`,
    `p, ${CN}, ${allowed}, CreateStream`,
    `p, ${CN}, ${allowed}, Publish`,
    `p, ${CN}, ${denied}, CreateStream`,
    '',
  ].join('\n'),
);

const broker = useSingleNode({
  tls: brokerTls(pki, { mutual: true }),
  extraConfig: { 'tls.client.authz.enabled': true, 'tls.client.authz.model': model, 'tls.client.authz.policy': policy },
});
const clients: LiftbridgeClient[] = [];
function client(): LiftbridgeClient {
  const c = connect({ brokers: [broker.address], tls: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey }, retry: { maxRetries: 2, initialDelayMs: 20 } });
  clients.push(c);
  return c;
}
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

describe('publishing under ACLs (mutual TLS)', () => {
  it('publishes where allowed and fails with PermissionDeniedError (with the correlation id) where not, on both transports', async () => {
    const lift = client();
    await firstValueFrom(lift.createStream({ name: allowed }));
    await firstValueFrom(lift.createStream({ name: denied }));
    for (const transport of ['http2', 'grpc-js'] as const) {
      expect((await firstValueFrom(publish(lift, allowed, 'ok', { transport }))).stream).toBe(allowed);
      const error = await firstValueFrom(publish(lift, denied, 'no', { transport, correlationId: `deny-${transport}` })).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(PermissionDeniedError);
      expect((error as PermissionDeniedError).correlationId).toBe(`deny-${transport}`);
    }
  });

  it('reports denied inputs one by one in a pipeline (failFast: false)', async () => {
    const lift = client();
    const results = await lastValueFrom(
      publishTo(lift, allowed, { failFast: false })([{ value: 'a' }, { value: 'b', stream: denied }, { value: 'c' }]).pipe(toArray()),
    );
    expect(results.map((r) => (r.ok ? 'ok' : r.error.code))).toEqual(['ok', 'PERMISSION_DENIED', 'ok']);
  });

  it('publishToSubject without the permission on the subject fails with PermissionDeniedError', async () => {
    const lift = client();
    const error = await firstValueFrom(publishToSubject(lift, allowed, 'x', { correlationId: 'pts-deny' })).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(PermissionDeniedError);
    expect((error as PermissionDeniedError).correlationId).toBe('pts-deny');
  });
});
