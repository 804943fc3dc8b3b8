#!/usr/bin/env node
// Installs improbable-eng's grpcwebproxy (the gRPC-web proxy the browser specs put in front of a
// real broker) with `go install github.com/improbable-eng/grpc-web/go/grpcwebproxy@<version>` into
// the git-ignored .liftbridge/grpcwebproxy-<version>/grpcwebproxy. Called by
// scripts/install-liftbridge.mjs; a second run with the binary in place is a fast no-op.
//
// Usage: node scripts/install-grpcwebproxy.mjs [--quiet]
// GRPCWEBPROXY_BIN=<path> uses that binary instead (nothing is built).

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const INSTALL_ROOT = join(PROJECT_ROOT, '.liftbridge');

/** The pinned proxy version (v0.15.0 builds with current Go toolchains). */
export const GRPCWEBPROXY_VERSION = 'v0.15.0';
export const GRPCWEBPROXY_MODULE = 'github.com/improbable-eng/grpc-web/go/grpcwebproxy';

/** Where the proxy binary lives: $GRPCWEBPROXY_BIN, else .liftbridge/grpcwebproxy-<version>/grpcwebproxy. */
export function grpcWebProxyPath(version = GRPCWEBPROXY_VERSION) {
  return process.env.GRPCWEBPROXY_BIN || join(INSTALL_ROOT, `grpcwebproxy-${version}`, 'grpcwebproxy');
}

function findGo() {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir !== '' && existsSync(join(dir, 'go'))) return join(dir, 'go');
  }
  return undefined;
}

/** Builds the proxy unless it is already there; returns its path. */
export function ensureGrpcWebProxy({ log = console.log, version = GRPCWEBPROXY_VERSION } = {}) {
  const binary = grpcWebProxyPath(version);
  if (existsSync(binary)) {
    log(`grpcwebproxy ${version}: ${binary} (already installed)`);
    return binary;
  }
  if (process.env.GRPCWEBPROXY_BIN) throw new Error(`GRPCWEBPROXY_BIN=${process.env.GRPCWEBPROXY_BIN} does not exist.`);
  const goBin = findGo();
  if (!goBin) throw new Error(`grpcwebproxy ${version} is not installed and Go is not on PATH. Install Go, then run \`npm run install-servers\`.`);
  mkdirSync(INSTALL_ROOT, { recursive: true });
  const staging = mkdtempSync(join(INSTALL_ROOT, '.staging-grpcwebproxy-'));
  try {
    log(`grpcwebproxy ${version}: building ${GRPCWEBPROXY_MODULE}@${version} with ${goBin} (first build takes about a minute)...`);
    const res = spawnSync(goBin, ['install', `${GRPCWEBPROXY_MODULE}@${version}`], {
      stdio: 'inherit',
      env: { ...process.env, GOFLAGS: '', GOBIN: staging },
    });
    if (res.error) throw new Error(`grpcwebproxy: could not run ${goBin}: ${res.error.message}`);
    if (res.status !== 0) throw new Error(`grpcwebproxy: \`go install ${GRPCWEBPROXY_MODULE}@${version}\` exited with ${res.status ?? res.signal}`);
    const built = join(staging, 'grpcwebproxy');
    if (!existsSync(built)) throw new Error(`go install finished but ${built} is missing`);
    mkdirSync(dirname(binary), { recursive: true });
    renameSync(built, binary);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  log(`grpcwebproxy ${version}: installed ${binary}`);
  return binary;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const log = process.argv.includes('--quiet') ? () => {} : (msg) => console.log(`[install-servers] ${msg}`);
  try {
    ensureGrpcWebProxy({ log });
  } catch (err) {
    console.error(`[install-servers] ERROR: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}
