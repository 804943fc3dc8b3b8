#!/usr/bin/env node
// Installs the servers the real-broker tests need, once:
//   - Liftbridge, built with `go install <module>@<pin>` into .liftbridge/<pin>/liftbridge
//     (project-local GOBIN; the pins live only in liftbridge-versions.json). A pin with an entry
//     under "sources" (the unreleased main) is built from that source archive with `go build`
//     when `go install` cannot get it (a module proxy that refuses the pseudo-version);
//   - nats-server (Debian package) when it is not on PATH (used by the 3-node cluster harness);
//   - grpcwebproxy (scripts/install-grpcwebproxy.mjs), the gRPC-web proxy of the browser specs.
//
// Usage: node scripts/install-liftbridge.mjs [--primary] [--main] [--compat] [--all] [--quiet]
//   (no pin flag)  the primary pin
//   --primary      the primary pin (the newest release)
//   --main         the main pin (the unreleased main)
//   --compat       the compatibility pin (an older release)
//   --all          all three
// Pin flags add up (`--primary --main`). A second run with everything in place is a fast no-op.
// LIFTBRIDGE_SOURCE_ARCHIVE=<path> overrides where a "sources" archive is looked for.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureGrpcWebProxy } from './install-grpcwebproxy.mjs';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const INSTALL_ROOT = join(PROJECT_ROOT, '.liftbridge');
const PINS_FILE = join(PROJECT_ROOT, 'liftbridge-versions.json');

/** The pins, in install order. */
export const PIN_NAMES = Object.freeze(['primary', 'main', 'compatibility']);

/**
 * Reads liftbridge-versions.json: `{ module, primary, main, compatibility, sources }`, where
 * `sources[version]` = `{ archive, sha256, dir }` says how to build a version from source
 * (`archive`: a path relative to the project, or a list of candidate paths).
 */
export function readPins() {
  const raw = JSON.parse(readFileSync(PINS_FILE, 'utf8'));
  for (const key of ['module', ...PIN_NAMES]) {
    if (typeof raw[key] !== 'string' || raw[key] === '') {
      throw new Error(`${PINS_FILE}: "${key}" must be a non-empty string`);
    }
  }
  const sources = raw.sources ?? {};
  for (const [version, src] of Object.entries(sources)) {
    const archives = Array.isArray(src?.archive) ? src.archive : [src?.archive];
    if (archives.length === 0 || archives.some((a) => typeof a !== 'string' || a === '')) {
      throw new Error(`${PINS_FILE}: "sources.${version}.archive" must be a path or a list of paths`);
    }
    for (const key of ['sha256', 'dir']) {
      if (typeof src?.[key] !== 'string' || src[key] === '') {
        throw new Error(`${PINS_FILE}: "sources.${version}.${key}" must be a non-empty string`);
      }
    }
  }
  return { module: raw.module, primary: raw.primary, main: raw.main, compatibility: raw.compatibility, sources };
}

/** Where the Liftbridge binary for `version` lives. */
export function liftbridgeBinaryPath(version) {
  return join(INSTALL_ROOT, version, 'liftbridge');
}

/** Finds an executable on PATH (no subprocess). */
export function findOnPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Path of nats-server: $NATS_SERVER_BIN if set, else the one on PATH, else undefined. */
export function natsServerPath() {
  const fromEnv = process.env.NATS_SERVER_BIN;
  if (fromEnv) return existsSync(fromEnv) ? fromEnv : undefined;
  // Debian puts it in /usr/sbin, which is not on every user's PATH.
  return findOnPath('nats-server') ?? ['/usr/sbin/nats-server', '/usr/local/sbin/nats-server'].find((p) => existsSync(p));
}

/** The version a Liftbridge binary reports (`liftbridge --version`), or undefined if it cannot run. */
export function installedVersion(binary) {
  if (!existsSync(binary)) return undefined;
  const res = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (res.error || res.status !== 0) return undefined;
  return `${res.stdout}${res.stderr}`.trim();
}

/** True when `binary` exists and reports `version`. */
export function isInstalled(binary, version) {
  const out = installedVersion(binary);
  // biome-ignore lint/complexity/useOptionalChain: the function answers a boolean; out?.split() would give undefined
  return out !== undefined && out.split(/\s+/).includes(version);
}

function run(cmd, args, env, what) {
  const res = spawnSync(cmd, args, { stdio: 'inherit', env });
  if (res.error) {
    throw new Error(`${what}: could not run ${cmd}: ${res.error.message}`);
  }
  if (res.status !== 0) {
    throw new Error(`${what}: \`${cmd} ${args.join(' ')}\` exited with ${res.status ?? res.signal}`);
  }
}

function goEnv(goBin, name) {
  const res = spawnSync(goBin, ['env', name], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`\`go env ${name}\` failed: ${res.stderr}`);
  return res.stdout.trim();
}

/**
 * Builds `module@version` with the Go toolchain into .liftbridge/<version>/liftbridge, unless a binary
 * reporting that version is already there. Returns the binary path.
 */
export function installLiftbridge(version, { module = readPins().module, source = readPins().sources[version], log = console.log } = {}) {
  const binary = liftbridgeBinaryPath(version);
  if (isInstalled(binary, version)) {
    log(`liftbridge ${version}: ${binary} (already installed)`);
    return binary;
  }
  const goBin = findOnPath('go');
  if (!goBin) {
    throw new Error(`liftbridge ${version} is not installed and Go is not on PATH. Install Go (>= 1.19), then run \`npm run install-servers\`.`);
  }
  mkdirSync(INSTALL_ROOT, { recursive: true });
  const staging = mkdtempSync(join(INSTALL_ROOT, '.staging-'));
  try {
    let built;
    try {
      built = goInstall(goBin, module, version, staging, log);
    } catch (err) {
      if (source === undefined) throw err;
      log(`liftbridge ${version}: go install failed (${err.message}); building from the source archive instead`);
      built = buildFromArchive(goBin, module, version, source, staging, log);
    }
    mkdirSync(dirname(binary), { recursive: true });
    renameSync(built, binary);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  const reported = installedVersion(binary);
  if (!isInstalled(binary, version)) {
    throw new Error(`${binary} was built but \`--version\` prints ${JSON.stringify(reported)}, not ${version}`);
  }
  log(`liftbridge ${version}: installed ${binary} (${reported})`);
  return binary;
}

// HEAD builds print "dev" unless told their version; a no-op for tagged releases (a const).
const versionFlag = (module, version) => `-ldflags=-X ${module}/server.Version=${version}`;

/** `go install module@version` into `staging`; returns the built binary's path. */
function goInstall(goBin, module, version, staging, log) {
  log(`liftbridge ${version}: building ${module}@${version} with ${goBin} (first build takes about a minute)...`);
  const env = { ...process.env, GOFLAGS: '' };
  // 1. Put the module (and its @v/list) into the module cache.
  run(goBin, ['mod', 'download', `${module}@${version}`], env, `downloading ${module}@${version}`);
  // 2. Install with the module cache as the first proxy: the default proxy refuses the deprecation
  //    lookup `go install` makes for this module, the local cache answers it.
  const modCache = goEnv(goBin, 'GOMODCACHE');
  const upstream = goEnv(goBin, 'GOPROXY');
  run(
    goBin,
    ['install', versionFlag(module, version), `${module}@${version}`],
    { ...env, GOBIN: staging, GOPROXY: `file://${join(modCache, 'cache', 'download')},${upstream}` },
    `building ${module}@${version}`,
  );
  const built = join(staging, 'liftbridge');
  if (!existsSync(built)) throw new Error(`go install finished but ${built} is missing`);
  return built;
}

/**
 * Where a source archive is: $LIFTBRIDGE_SOURCE_ARCHIVE, else the first existing candidate path
 * (relative to the project), else the first candidate (for the error message).
 */
export function sourceArchivePath(source) {
  const fromEnv = process.env.LIFTBRIDGE_SOURCE_ARCHIVE;
  if (fromEnv) return resolve(fromEnv);
  const candidates = (Array.isArray(source.archive) ? source.archive : [source.archive]).map((a) => resolve(PROJECT_ROOT, a));
  return candidates.find((c) => existsSync(c)) ?? candidates[0];
}

/**
 * Builds `version` from a source archive (checked against its sha256) with `go build`, the
 * dependencies coming from the module proxy; returns the built binary's path.
 */
function buildFromArchive(goBin, module, version, source, staging, log) {
  const archive = sourceArchivePath(source);
  if (!existsSync(archive)) {
    throw new Error(`liftbridge ${version}: the source archive ${archive} does not exist (set LIFTBRIDGE_SOURCE_ARCHIVE to its path)`);
  }
  const digest = createHash('sha256').update(readFileSync(archive)).digest('hex');
  if (digest !== source.sha256) {
    throw new Error(`liftbridge ${version}: ${archive} has sha256 ${digest}, expected ${source.sha256}`);
  }
  log(`liftbridge ${version}: building from ${archive} with ${goBin} (about 30 s on 2 cores)...`);
  run('tar', ['-xzf', archive, '-C', staging], process.env, `extracting ${archive}`);
  const built = join(staging, 'liftbridge');
  run(
    goBin,
    ['-C', join(staging, source.dir), 'build', versionFlag(module, version), '-o', built, '.'],
    { ...process.env, GOFLAGS: '' },
    `building ${version} from ${archive}`,
  );
  if (!existsSync(built)) throw new Error(`go build finished but ${built} is missing`);
  return built;
}

/** Makes sure nats-server is available, installing the Debian package if needed. Returns its path. */
export function ensureNatsServer({ log = console.log } = {}) {
  let path = natsServerPath();
  if (path) {
    log(`nats-server: ${path}`);
    return path;
  }
  if (process.env.NATS_SERVER_BIN) {
    throw new Error(`NATS_SERVER_BIN=${process.env.NATS_SERVER_BIN} does not exist.`);
  }
  const help =
    'Install it yourself (Debian/Ubuntu: `sudo apt-get install nats-server`; others: https://github.com/nats-io/nats-server/releases) ' +
    'and put it on PATH, or set NATS_SERVER_BIN to its path.';
  const aptGet = findOnPath('apt-get');
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (!aptGet || !isRoot) {
    throw new Error(`nats-server is not on PATH and cannot be installed automatically (${aptGet ? 'not root' : 'no apt-get'}). ${help}`);
  }
  log('nats-server: not on PATH, installing the Debian package with apt-get...');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => spawnSync(aptGet, ['install', '-y', '-q', 'nats-server'], { stdio: 'inherit', env });
  let res = install();
  if (res.status !== 0) {
    log('nats-server: apt-get install failed, running apt-get update and retrying...');
    spawnSync(aptGet, ['update', '-q'], { stdio: 'inherit', env });
    res = install();
  }
  path = natsServerPath();
  if (res.status !== 0 || !path) {
    throw new Error(`nats-server: apt-get could not install it. ${help}`);
  }
  log(`nats-server: installed ${path}`);
  return path;
}

const PIN_FLAGS = Object.freeze({ primary: '--primary', main: '--main', compatibility: '--compat' });

/** Which pin versions a command line asks for (pin flags add up; none = the primary pin). */
export function pinsFor(args, pins = readPins()) {
  const all = args.includes('--all');
  const names = PIN_NAMES.filter((name) => all || args.includes(PIN_FLAGS[name]));
  return [...new Set((names.length === 0 ? ['primary'] : names).map((name) => pins[name]))];
}

/** Installs what `args` asks for; returns `{ liftbridge: {version: path}, natsServer: path }`. */
export function installAll(args = [], { log = console.log } = {}) {
  const pins = readPins();
  const liftbridge = {};
  for (const version of pinsFor(args, pins)) {
    liftbridge[version] = installLiftbridge(version, { module: pins.module, source: pins.sources[version], log });
  }
  const natsServer = ensureNatsServer({ log });
  // The gRPC-web proxy of the browser specs (spec/browser): a sibling script, same .liftbridge/ folder.
  const grpcWebProxy = ensureGrpcWebProxy({ log });
  return { liftbridge, natsServer, grpcWebProxy };
}

function main(argv) {
  const known = new Set(['--all', '--primary', '--main', '--compat', '--quiet', '--help', '-h']);
  const unknown = argv.filter((a) => !known.has(a));
  if (argv.includes('--help') || argv.includes('-h') || unknown.length > 0) {
    if (unknown.length > 0) console.error(`unknown argument(s): ${unknown.join(' ')}`);
    console.error('usage: node scripts/install-liftbridge.mjs [--primary] [--main] [--compat] [--all] [--quiet]');
    return unknown.length > 0 ? 2 : 0;
  }
  const log = argv.includes('--quiet') ? () => {} : (msg) => console.log(`[install-servers] ${msg}`);
  try {
    installAll(argv, { log });
    return 0;
  } catch (err) {
    console.error(`[install-servers] ERROR: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
