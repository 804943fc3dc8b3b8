#!/usr/bin/env node
// `npm run broker [-- --port N]`: installs the pinned servers if needed, then runs a single
// Liftbridge node (embedded NATS, cursors and activity stream on) in the foreground and prints its
// address. Ctrl-C stops it cleanly. LIFTBRIDGE_PIN=main / LIFTBRIDGE_PIN=compatibility runs that pin.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT, installAll } from './install-liftbridge.mjs';

const args = process.argv.slice(2);
if (args.includes('--help') || args.includes('-h')) {
  console.log('usage: npm run broker [-- --port N]   (default port: 9292 if free, else a free one)');
  process.exit(0);
}

try {
  installAll(process.env.LIFTBRIDGE_PIN === 'compatibility' ? ['--compat'] : process.env.LIFTBRIDGE_PIN === 'main' ? ['--main'] : [], {
    log: (msg) => console.log(`[install-servers] ${msg}`),
  });
} catch (err) {
  console.error(`[install-servers] ERROR: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}

const child = spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'scripts', 'broker-main.ts'), ...args], {
  cwd: PROJECT_ROOT,
  stdio: 'inherit',
  // Own process group: a terminal's Ctrl-C reaches only this process, which forwards it exactly once
  // (broker-main treats a second signal as "kill now").
  detached: true,
});

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  });
}
child.on('exit', (code, signal) => {
  process.exit(code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : 1));
});
