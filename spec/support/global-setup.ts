/**
 * Vitest globalSetup for the projects that start real servers (integration, cluster, harness, compat).
 *
 * setup: fails fast when the pinned Liftbridge or nats-server is missing (it does not install: run
 * `npm run install-servers`), and kills server processes left behind by earlier runs that died
 * without cleaning up (only processes whose owner is gone and whose /proc/<pid>/cmdline still is
 * the liftbridge/nats-server we spawned).
 * teardown: any server process whose test worker has exited but which is still alive is a leak:
 * it is killed, reported, and fails the run.
 */
import { checkInstalled, defaultPin, killLeftovers, liftbridgeVersion, type RegistryEntry } from './broker.js';

function describe(entries: readonly RegistryEntry[]): string {
  return entries.map((e) => `  pid ${e.pid} (${e.kind}, started by pid ${e.owner}): ${e.command}`).join('\n');
}

export default function setup(): () => void {
  const pin = defaultPin();
  const problems = checkInstalled(pin);
  if (problems.length > 0) {
    throw new Error(`Test servers are not installed (pin ${pin}):\n- ${problems.join('\n- ')}`);
  }
  const before = killLeftovers();
  if (before.killed.length > 0) {
    console.warn(`[harness] killed ${before.killed.length} server process(es) left behind by an earlier run:\n${describe(before.killed)}`);
  }
  if (process.env.HARNESS_VERBOSE === '1') {
    console.info(`[harness] liftbridge ${liftbridgeVersion(pin)} (${pin} pin)`);
  }

  return () => {
    const after = killLeftovers();
    if (after.killed.length > 0) {
      throw new Error(
        `[harness] ${after.killed.length} server process(es) outlived the test worker that started them (now killed):\n${describe(after.killed)}`,
      );
    }
  };
}
