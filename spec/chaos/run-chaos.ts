/**
 * The chaos run: a real 3-node cluster, a pipelined keyed producer (RF 3, ack all), a consumer group
 * of member processes (consume + commit), and a plain subscriber, while seeded random faults hit the
 * brokers, NATS and the members. At the end every invariant the SDK promises is checked on the data
 * and counted (see docs/reliability.md). Used by spec/chaos/chaos.spec.ts (`npm run chaos`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { Subscription, firstValueFrom, toArray } from 'rxjs';
import { type LiftbridgeClient, type PublishResult, StartAt, StopAt, connect, publishTo } from '../../src/index.js';
import { type Cluster, PROJECT_ROOT, callOptions, openApiClient, startCluster, uniqueName } from '../support/broker.js';
import { type Cut, cutOff, prepareNetns } from './netns.js';
import { divergenceAt } from './replica-divergence.js';
import { type Rng, seededRng } from './rng.js';

export type FaultKind = 'kill-leader' | 'kill-coordinator' | 'kill-follower' | 'freeze-broker' | 'restart-nats' | 'kill-member' | 'cut-broker';

export interface ChaosOptions {
  readonly seed: number;
  /** Stop injecting faults after this long (unless `faults` is set). */
  readonly durationMs: number;
  /** When set: inject exactly this many faults, however long it takes. */
  readonly faults?: number;
  /** Offered publish rate, messages per second. */
  readonly rate: number;
  readonly partitions: number;
  readonly members: number;
  readonly commitCount: number;
  readonly commitMs: number;
  /** Pause between two faults, ms (a random value in this range). */
  readonly gapMs: readonly [number, number];
  /**
   * Also cut brokers off the network (`cut-broker`): needs a private network namespace
   * (`unshare -n`, root; see spec/chaos/netns.ts). Changes the fault plan of a seed.
   */
  readonly netns?: boolean;
  /** Only these kinds of fault (to hunt one class of failure); all of them when unset. */
  readonly kinds?: readonly FaultKind[];
  readonly log: (line: string) => void;
}

export interface ChaosReport {
  readonly seed: number;
  readonly stream: string;
  readonly seconds: number;
  readonly faults: Readonly<Record<FaultKind, number>>;
  readonly faultLog: readonly string[];
  readonly inputs: number;
  readonly acked: number;
  readonly failed: number;
  readonly failedByCode: Readonly<Record<string, number>>;
  readonly withoutOutcome: number;
  readonly withSeveralOutcomes: number;
  readonly stored: number;
  readonly storedDuplicates: number;
  readonly ackedLost: number;
  readonly ackedWrongBytes: number;
  /**
   * The first few acked inputs whose offset holds other bytes, with what is needed to tell a broker
   * flaw from a client one: when the input was sent and acked (s since start, beside the fault log),
   * the ack's broker timestamps, whose bytes the offset holds and where that input was acked, and
   * every offset holding the input's own bytes.
   */
  readonly ackedWrongBytesDetail: readonly string[];
  /**
   * Of the acked messages not found at their offset (lost or other bytes): those at an offset
   * where the brokers' logs show the replicas diverged (the broker's doing; see
   * spec/chaos/replica-divergence.ts). The rest are not explained and fail the run.
   */
  readonly ackedLostToReplicaDivergence: number;
  /** Acks whose correlation id (echoed by the broker) is not their input's: the client's attribution. */
  readonly ackAttributionMismatch: number;
  readonly groupProcessed: number;
  readonly groupSkipped: number;
  readonly groupDuplicates: number;
  readonly groupDuplicatesBeyondWindow: number;
  readonly groupOrderViolations: number;
  readonly groupErrors: readonly string[];
  readonly subscriberSeen: number;
  readonly subscriberGaps: number;
  readonly subscriberDuplicates: number;
  readonly subscriberOrderViolations: number;
  readonly subscriberErrors: readonly string[];
  readonly fatal: readonly string[];
  readonly hung: readonly string[];
  /** The suite process (producer + plain subscriber clients): samples every 5 s. */
  readonly suiteProcess: ProcessSamples;
  /** Each member process's samples (members started later have fewer). */
  readonly memberProcesses: readonly ProcessSamples[];
}

/**
 * RSS and heap (MiB) and active handle counts sampled every 5 s; `warm` is the first sample after
 * 30 s. Member processes sample after a full GC; the heap is not sampled for the suite process (0).
 */
export interface ProcessSamples {
  readonly samples: number;
  readonly rssWarmMiB: number;
  readonly rssMaxMiB: number;
  readonly rssEndMiB: number;
  readonly heapWarmMiB: number;
  readonly heapEndMiB: number;
  readonly handlesWarm: number;
  readonly handlesMax: number;
  readonly handlesEnd: number;
}

function summarise(rss: readonly number[], handles: readonly number[], heap: readonly number[] = []): ProcessSamples {
  const warmAt = Math.min(6, Math.max(0, rss.length - 1));
  const mib = (b: number | undefined): number => Math.round((b ?? 0) / 2 ** 20);
  return {
    samples: rss.length,
    rssWarmMiB: mib(rss[warmAt]),
    rssMaxMiB: mib(Math.max(0, ...rss.slice(warmAt))),
    rssEndMiB: mib(rss.at(-1)),
    heapWarmMiB: mib(heap[warmAt]),
    heapEndMiB: mib(heap.at(-1)),
    handlesWarm: handles[warmAt] ?? 0,
    handlesMax: Math.max(0, ...handles.slice(warmAt)),
    handlesEnd: handles.at(-1) ?? 0,
  };
}

const activeHandles = (): number => (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().length;

const CLIENT_RETRY = { maxRetries: 1_000, initialDelayMs: 100, maxDelayMs: 1_000, totalTimeoutMs: 120_000 } as const;

/** Rejects with a named "hung" error when `p` takes longer than `ms`. */
async function within<T>(what: string, ms: number, p: Promise<T>, hung: string[]): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  try {
    const r = await Promise.race([p, timeout]);
    if (r === 'timeout') {
      hung.push(`${what} (> ${ms} ms)`);
      return undefined;
    }
    return r as T;
  } finally {
    clearTimeout(timer);
  }
}

interface MemberProcess {
  readonly id: number;
  readonly child: ChildProcess;
  readonly rss: number[];
  /** V8 heap in use after a full GC, sampled with `rss`. */
  readonly heap: number[];
  readonly handles: number[];
  alive: boolean;
}

/** Per partition, what the group members did, in the order the suite heard it. */
interface GroupLedger {
  processed: number;
  readonly seen: Map<number, Map<bigint, number>>;
  readonly committed: Map<number, bigint>;
  /** (member, partition) -> last offset processed in the current assignment. */
  readonly lastInAssignment: Map<string, bigint>;
  /** (member, partition) -> the highest confirmed commit when the assignment reached the member. */
  readonly committedAtAssign: Map<string, bigint | undefined>;
  beyondWindow: number;
  orderViolations: number;
  readonly errors: string[];
  readonly fatal: string[];
}

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  // Two streams from one seed: the fault plan must not depend on how many values were published
  // before each fault (timing), or a seed would not replay the same faults.
  const rng: Rng = seededRng(o.seed);
  const valueRng: Rng = seededRng((o.seed ^ 0x9e3779b9) >>> 0);
  const started = Date.now();
  const hung: string[] = [];
  const fatal: string[] = [];
  const onUnhandled = (e: unknown): void => void fatal.push(`suite: unhandled rejection: ${String(e)}`);
  const onUncaught = (e: unknown): void => void fatal.push(`suite: uncaught exception: ${String(e)}`);
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUncaught);

  o.log(
    `[chaos] seed ${o.seed} (replay with CHAOS_SEED=${o.seed}); ${o.faults !== undefined ? `${o.faults} faults` : `${Math.round(o.durationMs / 1000)} s`}, ${o.rate} msg/s, ${o.partitions} partitions, ${o.members} members`,
  );
  if (o.netns === true) prepareNetns();
  // Debug level: each replica logs where every leader epoch starts, which tells replica divergence
  // (spec/chaos/replica-divergence.ts). It also logs a line per PublishAsync message (about 1 MB a
  // minute per broker). The logs are kept when an acked message is not found (below).
  const cluster: Cluster = await startCluster({ size: 3, logLevel: 'debug' });
  let activeCut: Cut | undefined;
  const clients: LiftbridgeClient[] = [];
  const members: MemberProcess[] = [];
  const subs: Subscription[] = [];
  const newClient = (): LiftbridgeClient => {
    const c = connect({ brokers: [...cluster.addresses], callTimeoutMs: 3_000, retry: CLIENT_RETRY });
    clients.push(c);
    return c;
  };

  try {
    const stream = uniqueName(`chaos-${o.seed}`);
    const groupId = uniqueName('chaos-group');
    const admin = newClient();
    await firstValueFrom(admin.createStream({ name: stream, partitions: o.partitions, replicationFactor: 3 }));

    // ---- group members (processes) -------------------------------------------------------------
    const ledger: GroupLedger = {
      processed: 0,
      seen: new Map(),
      committed: new Map(),
      lastInAssignment: new Map(),
      committedAtAssign: new Map(),
      beyondWindow: 0,
      orderViolations: 0,
      errors: [],
      fatal,
    };
    let memberSeq = 0;
    const startMember = (): MemberProcess => {
      const id = ++memberSeq;
      const child = spawn(
        process.execPath,
        ['--expose-gc', '--import', 'tsx', 'spec/chaos/member.ts', cluster.addresses.join(','), groupId, stream, String(o.commitCount), String(o.commitMs)],
        { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
      );
      const m: MemberProcess = { id, child, rss: [], heap: [], handles: [], alive: true };
      child.on('exit', () => {
        m.alive = false;
      });
      createInterface({ input: child.stdout! }).on('line', (line) => onMemberLine(m, line));
      members.push(m);
      return m;
    };
    const onMemberLine = (m: MemberProcess, line: string): void => {
      let e: { t: string; p?: number; o?: string; v?: string | number; e?: string; handles?: number; heap?: number };
      try {
        e = JSON.parse(line) as typeof e;
      } catch {
        return;
      }
      const key = `${m.id}/${e.p}`;
      switch (e.t) {
        case 'assigned':
          ledger.lastInAssignment.delete(key);
          ledger.committedAtAssign.set(key, ledger.committed.get(e.p as number));
          break;
        case 'revoked':
          ledger.lastInAssignment.delete(key);
          break;
        case 'processed': {
          const p = e.p as number;
          const offset = BigInt(e.o as string);
          ledger.processed += 1;
          const seen = ledger.seen.get(p) ?? new Map<bigint, number>();
          ledger.seen.set(p, seen);
          seen.set(offset, (seen.get(offset) ?? 0) + 1);
          // Re-processing is allowed only for what was uncommitted when the partition changed hands:
          // an offset at or below the commit confirmed before this assignment is a violation. (The
          // old owner's final flush may land after the new owner read the cursor: those offsets were
          // uncommitted at the change, so they count as duplicates, not violations.)
          const floor = ledger.committedAtAssign.get(key);
          if (floor !== undefined && offset <= floor) ledger.beyondWindow += 1;
          const last = ledger.lastInAssignment.get(key);
          if (last !== undefined && offset <= last) ledger.orderViolations += 1;
          ledger.lastInAssignment.set(key, offset);
          break;
        }
        case 'committed': {
          const p = e.p as number;
          const offset = BigInt(e.o as string);
          const prev = ledger.committed.get(p);
          if (prev === undefined || offset > prev) ledger.committed.set(p, offset);
          break;
        }
        case 'rss':
          m.rss.push(e.v as number);
          m.heap.push(e.heap ?? 0);
          m.handles.push(e.handles ?? 0);
          break;
        case 'error':
          ledger.errors.push(`member ${m.id}: ${e.e}`);
          break;
        case 'fatal':
          fatal.push(`member ${m.id}: ${e.e}`);
          break;
        default:
      }
    };
    for (let i = 0; i < o.members; i++) startMember();

    // ---- plain subscriber ----------------------------------------------------------------------
    const subscriber = newClient();
    const subscriberSeen = new Map<number, bigint[]>();
    const subscriberErrors: string[] = [];
    const subscribePartition = (p: number, from: bigint): void => {
      subs.push(
        subscriber.subscribe(stream, { partition: p, startAt: StartAt.offset(from) }).subscribe({
          next: (m) => {
            const list = subscriberSeen.get(p) ?? [];
            subscriberSeen.set(p, list);
            list.push(m.offset);
          },
          error: (e: unknown) => {
            // A finding: the subscription should have survived. Go on from the next offset so the rest is still checked.
            subscriberErrors.push(`partition ${p}: ${String(e)}`);
            const last = subscriberSeen.get(p)?.at(-1);
            if (!stopping) subscribePartition(p, last === undefined ? 0n : last + 1n);
          },
        }),
      );
    };
    let stopping = false;
    for (let p = 0; p < o.partitions; p++) subscribePartition(p, 0n);

    // ---- producer ------------------------------------------------------------------------------
    const producer = newClient();
    const values: string[] = [];
    const outcomes: number[] = [];
    const acks = new Map<number, { partition: number; offset: bigint; atMs: number; receptionNs: bigint; commitNs: bigint; echo: string }>();
    const sentAtMs: number[] = [];
    const failedByCode: Record<string, number> = {};
    let producing = true;
    async function* inputs(): AsyncGenerator<{ key: string; value: string; correlationId: string }> {
      const t0 = Date.now();
      for (let i = 0; producing; i++) {
        const wait = t0 + (i * 1000) / o.rate - Date.now();
        if (wait > 0) await delay(wait);
        if (!producing) return;
        const value = `${i}:${valueRng.hex(24)}`;
        values.push(value);
        outcomes.push(0);
        sentAtMs.push(Date.now() - started);
        yield { key: `k${i % 97}`, value, correlationId: `c${i}` };
      }
    }
    const producerDone = new Promise<void>((resolve) => {
      subs.push(
        // An AsyncIterable is pulled on demand: the producer never runs ahead of maxInFlight.
        publishTo(producer, stream, { ackPolicy: 'all', failFast: false, maxInFlight: 128, partitioner: 'key', retry: CLIENT_RETRY })(inputs()).subscribe({
          next: (r: PublishResult) => {
            const i = Number((r.input.correlationId ?? 'c-1').slice(1));
            outcomes[i] = (outcomes[i] ?? 0) + 1;
            if (r.ok) {
              acks.set(i, {
                partition: r.ack.partition,
                offset: r.ack.offset,
                atMs: Date.now() - started,
                receptionNs: r.ack.receptionTimestampNs,
                commitNs: r.ack.commitTimestampNs,
                echo: r.ack.correlationId,
              });
            } else failedByCode[r.error.code] = (failedByCode[r.error.code] ?? 0) + 1;
          },
          error: (e: unknown) => {
            fatal.push(`producer pipeline errored (failFast is off): ${String(e)}`);
            resolve();
          },
          complete: () => resolve(),
        }),
      );
    });

    const suiteRss: number[] = [];
    const suiteHandles: number[] = [];
    const sampler = setInterval(() => {
      suiteRss.push(process.memoryUsage().rss);
      suiteHandles.push(activeHandles());
    }, 5_000);
    subs.push(new Subscription(() => clearInterval(sampler)));

    // ---- faults --------------------------------------------------------------------------------
    const faults: Record<FaultKind, number> = {
      'kill-leader': 0,
      'kill-coordinator': 0,
      'kill-follower': 0,
      'freeze-broker': 0,
      'restart-nats': 0,
      'kill-member': 0,
      'cut-broker': 0,
    };
    const faultLog: string[] = [];
    const metadata = async (): Promise<{ leaders: Map<number, string>; replicas: Map<number, string[]>; coordinator: string | undefined }> => {
      const node = cluster.nodes.find((n) => n.running) ?? cluster.nodes[0]!;
      const api = openApiClient(node.address);
      try {
        // No deadline shown (as the SDK does): a broker surveying a peer that is still restarting
        // answers after 3 s, and with a deadline it would answer too late or not at all.
        const res = await api.client.fetchMetadata({ streams: [stream], groups: [groupId] }, { signal: AbortSignal.timeout(4_000) });
        const leaders = new Map<number, string>();
        const replicas = new Map<number, string[]>();
        for (const s of res.streamMetadata) {
          for (const [p, pm] of Object.entries(s.partitions)) {
            leaders.set(Number(p), pm.leader);
            replicas.set(Number(p), [...pm.replicas]);
          }
        }
        return { leaders, replicas, coordinator: res.groupMetadata[0]?.coordinator };
      } finally {
        api.close();
      }
    };
    const bounce = async (id: string, why: string): Promise<void> => {
      const down = rng.int(1_000, 5_000);
      faultLog.push(`${((Date.now() - started) / 1000).toFixed(1)}s ${why}: SIGKILL ${id}, restart after ${down} ms`);
      await within(`kill ${id}`, 20_000, cluster.kill(id), hung);
      await delay(down);
      await within(`restart ${id}`, 120_000, cluster.restart(id), hung);
    };
    const inject = async (kind: FaultKind): Promise<void> => {
      const meta = await within(
        'fetch metadata for a fault',
        10_000,
        metadata().catch(() => undefined),
        hung,
      );
      const nodeIds = cluster.nodes.map((n) => n.id);
      switch (kind) {
        case 'kill-leader': {
          const leader = meta?.leaders.get(rng.int(0, o.partitions - 1)) || rng.pick(nodeIds);
          await bounce(leader, 'partition leader');
          break;
        }
        case 'kill-coordinator':
          await bounce(meta?.coordinator || rng.pick(nodeIds), 'group coordinator');
          break;
        case 'kill-follower': {
          const p = rng.int(0, o.partitions - 1);
          const leader = meta?.leaders.get(p);
          const followers = (meta?.replicas.get(p) ?? nodeIds).filter((r) => r !== leader);
          await bounce(followers.length > 0 ? rng.pick(followers) : rng.pick(nodeIds), 'follower');
          break;
        }
        case 'freeze-broker': {
          const node = cluster.node(rng.pick(nodeIds));
          const ms = rng.int(2_000, 8_000);
          faultLog.push(`${((Date.now() - started) / 1000).toFixed(1)}s freeze ${node.id} (SIGSTOP) for ${ms} ms`);
          node.pause();
          await delay(ms);
          node.resume();
          break;
        }
        case 'cut-broker': {
          const node = cluster.node(rng.pick(nodeIds));
          const ms = rng.int(3_000, 10_000);
          if (!node.running) break;
          const cut = cutOff(node.pid, node.port, cluster.nats.port);
          activeCut = cut;
          faultLog.push(
            `${((Date.now() - started) / 1000).toFixed(1)}s cut ${node.id} off (client port + ${cut.ports.length - 1} NATS connections) for ${ms} ms`,
          );
          // The cut must hold: a call to the broker's client port gets no answer.
          const api = openApiClient(node.address);
          const answered = await api.client.fetchMetadata({}, callOptions(1_000)).then(
            () => true,
            () => false,
          );
          api.close();
          if (answered) fatal.push(`cut of ${node.id} did not hold: its client port answered`);
          // The broker reconnects to NATS from new ports when the server drops its stalled ones: block those too.
          const healAt = Date.now() + ms;
          while (Date.now() < healAt) {
            await delay(Math.min(250, Math.max(0, healAt - Date.now())));
            cut.refresh();
          }
          cut.heal();
          activeCut = undefined;
          break;
        }
        case 'restart-nats':
          faultLog.push(`${((Date.now() - started) / 1000).toFixed(1)}s restart NATS`);
          await within('restart nats', 30_000, cluster.nats.restart(), hung);
          break;
        case 'kill-member': {
          const live = members.filter((m) => m.alive);
          if (live.length === 0) break;
          const victim = rng.pick(live);
          const down = rng.int(500, 3_000);
          faultLog.push(`${((Date.now() - started) / 1000).toFixed(1)}s SIGKILL member ${victim.id}, new member after ${down} ms`);
          victim.child.kill('SIGKILL');
          await delay(down);
          startMember();
          break;
        }
      }
      faults[kind] += 1;
    };

    const weights = Object.fromEntries(
      Object.entries({
        'kill-leader': 3,
        'kill-coordinator': 2,
        'kill-follower': 2,
        'freeze-broker': 2,
        'restart-nats': 1,
        'kill-member': 2,
        ...(o.netns === true ? { 'cut-broker': 2 } : {}),
      }).filter(([k]) => o.kinds === undefined || o.kinds.includes(k as FaultKind)),
    ) as Record<FaultKind, number>;
    const unknown = (o.kinds ?? []).filter((k) => !(k in weights) && k !== 'cut-broker');
    if (unknown.length > 0) throw new Error(`unknown fault kind(s): ${unknown.join(', ')}`);
    if (Object.keys(weights).length === 0) throw new Error(`no fault kind left to inject (kinds: ${o.kinds?.join(', ')})`);

    // Let the group form and data flow before the first fault.
    await delay(5_000);
    let injected = 0;
    const until = started + o.durationMs;
    while (o.faults !== undefined ? injected < o.faults : Date.now() < until) {
      const kind = rng.weighted<FaultKind>(weights);
      o.log(`[chaos] fault ${injected + 1}: ${kind}`);
      await inject(kind);
      injected += 1;
      await delay(rng.int(o.gapMs[0], o.gapMs[1]));
    }

    // ---- wind down -----------------------------------------------------------------------------
    o.log('[chaos] faults done; every broker up again, letting the producer finish');
    for (const n of cluster.nodes) if (!n.running) await within(`final restart ${n.id}`, 120_000, n.restart(), hung);
    producing = false;
    await within('every input settled', 180_000, producerDone, hung);

    // Read everything back with a fresh client.
    const reader = newClient();
    const stored = new Map<number, Map<bigint, string>>();
    const decoder = new TextDecoder();
    for (let p = 0; p < o.partitions; p++) {
      const messages =
        (await within(
          `read back partition ${p}`,
          120_000,
          firstValueFrom(reader.subscribe(stream, { partition: p, startAt: StartAt.earliest(), stopAt: StopAt.latest() }).pipe(toArray())),
          hung,
        )) ?? [];
      stored.set(p, new Map(messages.map((m) => [m.offset, decoder.decode(m.value)])));
    }
    const ends = new Map([...stored].map(([p, m]) => [p, m.size === 0 ? 0n : [...m.keys()].reduce((a, b) => (a > b ? a : b)) + 1n]));

    // Consumers catch up with the end.
    const caughtUp = (seen: Map<number, Map<bigint, number>> | Map<number, bigint[]>): boolean =>
      [...ends].every(([p, end]) => {
        if (end === 0n) return true;
        const s = seen.get(p);
        if (s === undefined) return false;
        return s instanceof Map ? s.has(end - 1n) : s.includes(end - 1n);
      });
    const waitFor = async (what: string, check: () => boolean, ms: number): Promise<void> => {
      const deadline = Date.now() + ms;
      while (!check()) {
        if (Date.now() > deadline) {
          hung.push(`${what} (> ${ms} ms)`);
          return;
        }
        await delay(200);
      }
    };
    await waitFor('group caught up', () => caughtUp(ledger.seen), 180_000);
    await waitFor('plain subscriber caught up', () => caughtUp(subscriberSeen), 120_000);
    stopping = true;

    // Graceful member stop: final commits flush, members leave.
    await within(
      'members stop on SIGTERM',
      30_000,
      Promise.all(
        members
          .filter((m) => m.alive)
          .map(
            (m) =>
              new Promise<void>((resolve) => {
                m.child.once('exit', () => resolve());
                m.child.kill('SIGTERM');
              }),
          ),
      ),
      hung,
    );

    // ---- invariants ----------------------------------------------------------------------------
    let withoutOutcome = 0;
    let withSeveralOutcomes = 0;
    outcomes.forEach((n) => {
      if (n === 0) withoutOutcome += 1;
      if (n > 1) withSeveralOutcomes += 1;
    });
    let ackedLost = 0;
    let ackedWrongBytes = 0;
    let ackAttributionMismatch = 0;
    const ackedWrongBytesDetail: string[] = [];
    const wrong: number[] = [];
    const notFound: number[] = [];
    for (const [i, ack] of acks) {
      if (ack.echo !== `c${i}`) ackAttributionMismatch += 1;
      const value = stored.get(ack.partition)?.get(ack.offset);
      if (value === undefined) {
        ackedLost += 1;
        notFound.push(i);
      } else if (value !== values[i]) {
        ackedWrongBytes += 1;
        notFound.push(i);
        if (wrong.length < 5) wrong.push(i);
      }
    }
    let ackedLostToReplicaDivergence = 0;
    if (notFound.length > 0) {
      // Keep the brokers' logs (leader changes, epoch starts, truncations) beside the report.
      const dir = join(PROJECT_ROOT, 'bench', 'results', `chaos-${o.seed}-logs`);
      mkdirSync(dir, { recursive: true });
      for (const n of cluster.nodes) if (existsSync(n.logFile)) copyFileSync(n.logFile, join(dir, `${n.id}.log`));
      ackedWrongBytesDetail.push(`broker logs kept in ${dir}`);
      const logs = new Map(cluster.nodes.filter((n) => existsSync(n.logFile)).map((n) => [n.id, readFileSync(n.logFile, 'utf8')] as const));
      for (const i of notFound) {
        const a = acks.get(i)!;
        const evidence = divergenceAt(logs, stream, a.partition, a.offset);
        if (evidence === undefined) continue;
        ackedLostToReplicaDivergence += 1;
        if (ackedWrongBytesDetail.length < 5) ackedWrongBytesDetail.push(`input ${i} at p${a.partition}@${a.offset}: ${evidence}`);
      }
    }
    if (wrong.length > 0) {
      const where = new Map<string, string[]>();
      for (const [p, m] of stored) for (const [off, v] of m) where.set(v, [...(where.get(v) ?? []), `p${p}@${off}`]);
      const sec = (ms: number | undefined): string => (ms === undefined ? '?' : `${(ms / 1000).toFixed(1)}s`);
      const ackText = (j: number): string => {
        const a = acks.get(j);
        return a === undefined ? 'no ack' : `acked p${a.partition}@${a.offset} at ${sec(a.atMs)} (reception ${a.receptionNs} ns, commit ${a.commitNs} ns)`;
      };
      for (const i of wrong) {
        const a = acks.get(i)!;
        const held = stored.get(a.partition)?.get(a.offset) ?? '';
        const j = Number(held.split(':')[0]);
        ackedWrongBytesDetail.push(
          `input ${i} sent at ${sec(sentAtMs[i])}, ${ackText(i)}; its bytes are stored at [${(where.get(values[i]!) ?? []).join(' ')}]; ` +
            `p${a.partition}@${a.offset} holds input ${j} (sent at ${sec(sentAtMs[j])}, ${ackText(j)}; stored at [${(where.get(held) ?? []).join(' ')}])`,
        );
      }
    }
    let storedCount = 0;
    const storedValues = new Map<string, number>();
    for (const m of stored.values()) {
      storedCount += m.size;
      for (const v of m.values()) storedValues.set(v, (storedValues.get(v) ?? 0) + 1);
    }
    const storedDuplicates = [...storedValues.values()].reduce((s, n) => s + (n - 1), 0);

    let groupSkipped = 0;
    let groupDuplicates = 0;
    for (const [p, end] of ends) {
      const seen = ledger.seen.get(p) ?? new Map<bigint, number>();
      for (let off = 0n; off < end; off++) if (!seen.has(off)) groupSkipped += 1;
      for (const n of seen.values()) groupDuplicates += n - 1;
    }

    let subscriberGaps = 0;
    let subscriberDuplicates = 0;
    let subscriberOrderViolations = 0;
    let subscriberSeenCount = 0;
    for (const [p, end] of ends) {
      const list = subscriberSeen.get(p) ?? [];
      subscriberSeenCount += list.length;
      const unique = new Set(list);
      subscriberDuplicates += list.length - unique.size;
      for (let off = 0n; off < end; off++) if (!unique.has(off)) subscriberGaps += 1;
      for (let i = 1; i < list.length; i++) if (list[i]! <= list[i - 1]!) subscriberOrderViolations += 1;
    }

    const acked = acks.size;
    const failed = Object.values(failedByCode).reduce((s, n) => s + n, 0);
    return {
      seed: o.seed,
      stream,
      seconds: Math.round((Date.now() - started) / 1000),
      faults,
      faultLog,
      inputs: values.length,
      acked,
      failed,
      failedByCode,
      withoutOutcome,
      withSeveralOutcomes,
      stored: storedCount,
      storedDuplicates,
      ackedLost,
      ackedWrongBytes,
      ackedWrongBytesDetail,
      ackedLostToReplicaDivergence,
      ackAttributionMismatch,
      groupProcessed: ledger.processed,
      groupSkipped,
      groupDuplicates,
      groupDuplicatesBeyondWindow: ledger.beyondWindow,
      groupOrderViolations: ledger.orderViolations,
      groupErrors: ledger.errors,
      subscriberSeen: subscriberSeenCount,
      subscriberGaps,
      subscriberDuplicates,
      subscriberOrderViolations,
      subscriberErrors,
      fatal,
      hung,
      suiteProcess: summarise(suiteRss, suiteHandles),
      memberProcesses: members.map((m) => summarise(m.rss, m.handles, m.heap)),
    };
  } finally {
    activeCut?.heal();
    subs.forEach((s) => s.unsubscribe());
    for (const m of members) if (m.alive) m.child.kill('SIGKILL');
    await Promise.all(clients.map((c) => c.destroy()));
    await cluster.stop();
    process.off('unhandledRejection', onUnhandled);
    process.off('uncaughtException', onUncaught);
  }
}
