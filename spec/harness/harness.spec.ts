/**
 * Tests of the real-broker harness itself (spec/support/broker.ts) against real processes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import {
  PROJECT_ROOT,
  REGISTRY_DIR,
  callOptions,
  isAlive,
  killLeftovers,
  openApiClient,
  startCluster,
  startSingleNode,
  uniqueName,
  useSingleNode,
  type ApiClient,
  type Cluster,
  type SingleNode,
} from '../support/broker.js';
import type { StartedFixture } from '../support/fixtures/start-and-hang.js';

/** Polls `check` until it returns true (or resolves true); fails with `what` after `timeoutMs`. */
async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= until) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}${last === undefined ? '' : ` (last error: ${String(last)})`}`);
    }
    await delay(100);
  }
}

/** `process.kill(pid, 0)` throws ESRCH (reaped) or the pid is a zombie (killed, awaiting its reaper). */
function expectGone(pid: number): void {
  expect(isAlive(pid), `pid ${pid} should be dead`).toBe(false);
}

async function withClient<T>(address: string, fn: (client: ApiClient) => Promise<T>): Promise<T> {
  const { client, close } = openApiClient(address);
  try {
    return await fn(client);
  } finally {
    close();
  }
}

async function brokerIds(address: string): Promise<string[]> {
  return withClient(address, async (client) => {
    const md = await client.fetchMetadata({}, callOptions(5_000));
    return md.brokers.map((b) => b.id).sort();
  });
}

describe('single node', () => {
  let node: SingleNode | undefined;
  afterEach(async () => {
    await node?.stop();
    node = undefined;
  });

  it('starts, serves FetchMetadata and CreateStream, and stop() leaves nothing behind', async () => {
    node = await startSingleNode();
    const { pid, dataDir, port } = node;
    expect(node.address).toBe(`127.0.0.1:${port}`);
    expect(existsSync(join(REGISTRY_DIR, `${pid}.json`))).toBe(true);

    await withClient(node.address, async (client) => {
      const md = await client.fetchMetadata({}, callOptions(5_000));
      expect(md.brokers).toEqual([expect.objectContaining({ id: 's1', host: '127.0.0.1', port })]);
      expect(md.streamMetadata.map((s) => s.name)).toEqual(expect.arrayContaining(['__cursors', '__activity']));

      const name = uniqueName('harness');
      await client.createStream({ name, subject: name, partitions: 2, replicationFactor: 1 }, callOptions(10_000));
      const after = await client.fetchMetadata({ streams: [name] }, callOptions(5_000));
      expect(Object.keys(after.streamMetadata[0]?.partitions ?? {})).toHaveLength(2);
    });

    await node.stop();
    node = undefined;
    expect(() => process.kill(pid, 0)).toThrow(expect.objectContaining({ code: 'ESRCH' }));
    expect(existsSync(dataDir)).toBe(false);
    expect(existsSync(join(REGISTRY_DIR, `${pid}.json`))).toBe(false);
  });

  it('restart() keeps port and data; pause() freezes the server until resume()', async () => {
    node = await startSingleNode({ cursorsPartitions: 0, activity: false });
    const firstPid = node.pid;
    const name = uniqueName('harness-restart');
    await withClient(node.address, (client) => client.createStream({ name, subject: name }, callOptions(10_000)));

    await node.restart();
    expect(node.pid).not.toBe(firstPid);
    expectGone(firstPid);
    await withClient(node.address, async (client) => {
      const md = await client.fetchMetadata({ streams: [name] }, callOptions(5_000));
      expect(md.streamMetadata[0]?.name).toBe(name);
      expect(md.streamMetadata[0]?.error).toBe(0);
    });

    const connected = openApiClient(node.address);
    try {
      await connected.client.fetchMetadata({}, callOptions(5_000));
      node.pause();
      // A frozen server accepts nothing: calls (on a live connection or a new one) time out.
      await expect(connected.client.fetchMetadata({}, callOptions(1_000))).rejects.toThrow(/timeout/i);
      await expect(withClient(node.address, (client) => client.fetchMetadata({}, callOptions(1_000)))).rejects.toThrow(/timeout/i);
    } finally {
      connected.close();
    }
    node.resume();
    expect(await brokerIds(node.address)).toEqual(['s1']);
  });
});

describe('useSingleNode()', () => {
  const broker = useSingleNode({ cursorsPartitions: 0 });

  it('exposes the running node through getters', async () => {
    expect(broker.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(isAlive(broker.pid)).toBe(true);
    expect(await brokerIds(broker.address)).toEqual(['s1']);
  });
});

describe('3-node cluster', () => {
  let cluster: Cluster | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  it('starts, survives killing a node, and restart() brings it back', async () => {
    cluster = await startCluster();
    const c = cluster;
    expect(c.nodes.map((n) => n.id)).toEqual(['n1', 'n2', 'n3']);
    expect(c.addresses).toHaveLength(3);
    expect(isAlive(c.nats.pid)).toBe(true);
    for (const address of c.addresses) expect(await brokerIds(address)).toEqual(['n1', 'n2', 'n3']);

    const victim = c.node('n3');
    const victimPid = victim.pid;
    await c.kill(2);
    expectGone(victimPid);
    expect(victim.running).toBe(false);

    const survivors = c.nodes.filter((n) => n.running);
    for (const n of survivors) {
      await eventually(`${n.id} lists 2 brokers`, async () => (await brokerIds(n.address)).join() === 'n1,n2', 20_000);
    }
    const name = uniqueName('harness-cluster');
    await withClient(survivors[1]?.address ?? '', (client) => client.createStream({ name, subject: name, replicationFactor: 2 }, callOptions(10_000)));

    await c.restart('n3');
    expect(victim.running).toBe(true);
    for (const address of c.addresses) {
      await eventually(`${address} lists 3 brokers`, async () => (await brokerIds(address)).join() === 'n1,n2,n3', 20_000);
    }

    const pids = [...c.nodes.map((n) => n.pid), c.nats.pid];
    const dir = c.dir;
    await c.stop();
    cluster = undefined;
    pids.forEach(expectGone);
    expect(existsSync(dir)).toBe(false);
  });
});

describe('no server outlives an interrupted runner', () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    killLeftovers();
  });

  /** Spawns the fixture and resolves with what it started, once it printed its JSON line. */
  async function startFixture(mode: 'single' | 'cluster'): Promise<{ child: ChildProcess; started: StartedFixture; exited: Promise<void> }> {
    const child = spawn(process.execPath, ['--import', 'tsx', join('spec', 'support', 'fixtures', 'start-and-hang.ts'), mode], {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    const lines = createInterface({ input: child.stdout! });
    const started = await new Promise<StartedFixture>((resolveStarted, reject) => {
      lines.on('line', (line) => {
        try {
          resolveStarted(JSON.parse(line) as StartedFixture);
        } catch {
          // not our line
        }
      });
      void exited.then(() => reject(new Error(`fixture exited before reporting its pids:\n${stderr}`)));
    });
    lines.close();
    return { child, started, exited };
  }

  it.each([
    ['SIGTERM', 'single'],
    ['SIGINT', 'single'],
    ['SIGHUP', 'cluster'],
    ['SIGTERM', 'cluster'],
  ] as const)('%s to a runner with a %s server kills its servers and removes their data', async (signal, mode) => {
    const { child, started, exited } = await startFixture(mode);
    expect(started.pids.length).toBe(mode === 'single' ? 1 : 2);
    for (const pid of started.pids) expect(isAlive(pid)).toBe(true);

    child.kill(signal);
    await exited;
    expect(child.signalCode).toBe(signal);
    await eventually('every server pid to be gone', () => started.pids.every((pid) => !isAlive(pid)), 5_000);
    for (const dir of started.dirs) expect(existsSync(dir)).toBe(false);
    for (const pid of started.pids) expect(existsSync(join(REGISTRY_DIR, `${pid}.json`))).toBe(false);
  });

  it('a SIGKILLed runner leaves servers that the next run (killLeftovers) cleans up', async () => {
    const { child, started, exited } = await startFixture('single');
    child.kill('SIGKILL');
    await exited;
    // Nothing could run in the child: its server is orphaned but still registered.
    for (const pid of started.pids) {
      expect(isAlive(pid)).toBe(true);
      expect(existsSync(join(REGISTRY_DIR, `${pid}.json`))).toBe(true);
    }

    const report = killLeftovers();
    expect(report.killed.map((e) => e.pid)).toEqual(expect.arrayContaining(started.pids));
    await eventually('orphaned server pids to be gone', () => started.pids.every((pid) => !isAlive(pid)), 5_000);
    for (const dir of started.dirs) expect(existsSync(dir)).toBe(false);
    for (const pid of started.pids) expect(existsSync(join(REGISTRY_DIR, `${pid}.json`))).toBe(false);
  });
});
