/**
 * Throwaway PKI for TLS specs: a CA, a server certificate for 127.0.0.1/localhost and a client
 * certificate, made with the machine's openssl into a temp dir.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NodeTls } from './broker.js';

export interface TestPki {
  readonly dir: string;
  readonly caFile: string;
  readonly serverCertFile: string;
  readonly serverKeyFile: string;
  readonly ca: Buffer;
  readonly clientCert: Buffer;
  readonly clientKey: Buffer;
  /** A CA that signed nothing here: trusting only it must fail the handshake. */
  readonly otherCa: Buffer;
  remove(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

export function makeTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'rx-liftbridge-pki-'));
  const ca = (name: string): void => {
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.crt`], dir);
  };
  const leaf = (name: string, cn: string, ext: string): void => {
    writeFileSync(join(dir, `${name}.ext`), ext);
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-keyout', `${name}.key`, '-out', `${name}.csr`], dir);
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-days',
        '2',
        '-out',
        `${name}.crt`,
        '-extfile',
        `${name}.ext`,
      ],
      dir,
    );
  };
  ca('ca');
  ca('other-ca');
  leaf('server', 'localhost', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  leaf('client', 'rx-liftbridge-test-client', 'extendedKeyUsage=clientAuth\n');
  const read = (f: string): Buffer => readFileSync(join(dir, f));
  return {
    dir,
    caFile: join(dir, 'ca.crt'),
    serverCertFile: join(dir, 'server.crt'),
    serverKeyFile: join(dir, 'server.key'),
    ca: read('ca.crt'),
    clientCert: read('client.crt'),
    clientKey: read('client.key'),
    otherCa: read('other-ca.crt'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * The broker side of `pki` for `useSingleNode({ tls })`: the server certificate, and with
 * `mutual` the client certificate the broker requires (and the readiness probe presents).
 */
export function brokerTls(pki: TestPki, options: { mutual?: boolean } = {}): NodeTls {
  return {
    certFile: pki.serverCertFile,
    keyFile: pki.serverKeyFile,
    caFile: pki.caFile,
    ...(options.mutual === true ? { clientAuth: { clientCertFile: join(pki.dir, 'client.crt'), clientKeyFile: join(pki.dir, 'client.key') } } : {}),
  };
}
