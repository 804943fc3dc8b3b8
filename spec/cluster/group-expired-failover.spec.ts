/**
 * A member that was frozen while its group failed over to a new coordinator, and so expired on that
 * coordinator with the whole group, joins again when it wakes up and consumption goes on.
 *
 * Found in a CI run of groups.spec.ts under load: after the coordinator broker died and the group
 * failed over, no member reached the new coordinator within the consumer timeout, so the group was
 * deleted. The members kept polling the dead coordinator and reporting it, and every report was
 * answered "No such consumer group": consumption never resumed. Here the member is a real process
 * and the pause is a real SIGSTOP, timed by the member's own "coordinator-reported" line.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { firstValueFrom } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { connect, type LiftbridgeClient } from '../../src/index.js';
import { uniqueName, useCluster } from '../support/broker.js';
import { groupMetadata } from '../support/group-metadata.js';

// Debug logs: the broker logs the deletion of the group, which the spec awaits.
const cluster = useCluster({ size: 3, logLevel: 'debug' });
const clients: LiftbridgeClient[] = [];
const children: ChildProcess[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGCONT');
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
  }
  await Promise.all(clients.splice(0).map((c) => c.destroy()));
});

describe('3-node cluster: a member frozen through its coordinator failover', () => {
  it('expires with the group while frozen, then joins again when it wakes and consumes what was published meanwhile, no offset skipped', async () => {
    const admin = connect({
      brokers: [...cluster.addresses],
      callTimeoutMs: 2_000,
      retry: { maxRetries: 100, initialDelayMs: 100, maxDelayMs: 1_000, totalTimeoutMs: 60_000 },
    });
    clients.push(admin);
    const stream = uniqueName('grp-frozen');
    await firstValueFrom(admin.createStream({ name: stream, partitions: 1, replicationFactor: 3 }));
    const groupId = uniqueName('gf');

    const processed: bigint[] = [];
    const statuses: string[] = [];
    const logs: string[] = [];
    const waiters: { check: () => boolean; resolve: () => void }[] = [];
    const child = spawn(process.execPath, ['--import', 'tsx', 'spec/chaos/member.ts', cluster.addresses.join(','), groupId, stream, '1', '0'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    /** Resolves when `check()` holds after one of the member's lines (its output is the event to await). */
    const memberSaid = (check: () => boolean): Promise<void> => (check() ? Promise.resolve() : new Promise((resolve) => waiters.push({ check, resolve })));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const e = JSON.parse(line) as { t: string; o?: string; e?: string };
      if (e.t === 'processed') processed.push(BigInt(e.o as string));
      if (e.t === 'status') statuses.push(e.e as string);
      if (e.t === 'error' || e.t === 'fatal') statuses.push(`${e.t}: ${e.e}`);
      if (e.t === 'log') logs.push(e.e as string);
      for (const w of waiters.splice(0)) {
        if (w.check()) w.resolve();
        else waiters.push(w);
      }
    });

    for (let i = 0; i < 3; i++) await firstValueFrom(admin.publish(stream, `a${i}`, { ackPolicy: 'all' }));
    await memberSaid(() => processed.length >= 3);
    const before = await groupMetadata(admin, groupId);
    if (before === undefined) throw new Error(`no group ${groupId} after the first messages`);

    // Kill the coordinator. The member (the only one, so its report is a quorum) reports it, and
    // the moment it says so it is frozen, before it can learn the new coordinator.
    await cluster.kill(cluster.nodes.findIndex((n) => n.id === before.coordinator));
    await memberSaid(() => statuses.includes('coordinator-reported'));
    child.kill('SIGSTOP');

    // The group fails over, and the new coordinator expires the silent member: the group is gone.
    // (Awaited in the brokers' debug logs, not in metadata: with the coordinator broker dead, a
    // broker whose broker cache has expired (2 s on the test servers) surveys its peers for 3 s
    // before every FetchMetadata answer, so metadata polls are slow; see docs/testing.md.)
    const deleted = `from consumer group ${groupId}, deleted group because it is now empty`;
    await expect
      .poll(() => cluster.nodes.some((n) => existsSync(n.logFile) && readFileSync(n.logFile, 'utf8').includes(deleted)), { timeout: 30_000, interval: 200 })
      .toBe(true);
    child.kill('SIGCONT');
    for (let i = 3; i < 6; i++) await firstValueFrom(admin.publish(stream, `b${i}`, { ackPolicy: 'all', ackWaitMs: 10_000 }));

    // It wakes up, hears that the group is gone, joins again and consumes the rest.
    await expect.poll(() => processed.at(-1), { timeout: 30_000 }).toBe(5n);
    expect([...new Set(processed)].sort((x, y) => (x < y ? -1 : 1))).toEqual([0n, 1n, 2n, 3n, 4n, 5n]);
    // Its partition subscription goes on by itself; the membership must come back too.
    await expect
      .poll(() => statuses, { timeout: 30_000, message: 'the member joins the group again' })
      .toEqual(expect.arrayContaining(['rejoining', 'coordinator-changed']));
    expect(statuses.slice(statuses.indexOf('rejoining'))).toContain('joined');
    expect(statuses.filter((s) => s.startsWith('error') || s.startsWith('fatal'))).toEqual([]);
  });
});
