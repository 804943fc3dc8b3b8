/**
 * Is the sync-publish latency gap the cost of sleeping and waking for each ack? Publishes one
 * message at a time (ack policy leader, 256 B) in rounds that alternate between a plain event loop,
 * which sleeps in epoll until each ack arrives, and one kept busy by a `setImmediate` loop, which
 * polls without sleeping (as Go's runtime spins before it parks). Prints p50, p99 and the client's
 * CPU per message for each round.
 *
 *   node --import tsx bench/publish/sync-wakeup.ts      (BENCH_COUNT per round, default 10,000)
 *
 * One single node (test harness), the broker pinned to CPU 0 and this process to CPU 1. An
 * experiment for docs/performance.md, not a mode of the SDK: spinning is not something a library
 * should do to its users' event loop.
 */
import { execFileSync } from 'node:child_process';
import { firstValueFrom } from 'rxjs';
import { connect } from '../../src/index.js';
import { startSingleNode, uniqueName } from '../../spec/support/broker.js';

const count = Number(process.env.BENCH_COUNT ?? 10_000);
const node = await startSingleNode({ logLevel: 'warn', activity: false });
const lift = connect({ brokers: [node.address] });
try {
  execFileSync('taskset', ['-a', '-p', '-c', '0', String(node.pid)], { stdio: 'ignore' });
  execFileSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
  const stream = uniqueName('sync-wakeup');
  await firstValueFrom(lift.createStream({ name: stream }));
  const value = Buffer.alloc(256, 1);
  const round = async (n: number, spin: boolean): Promise<{ p50: number; p99: number; cpuUs: number }> => {
    let spinning = spin;
    const tick = (): void => {
      if (spinning) setImmediate(tick);
    };
    tick();
    const latencies: number[] = [];
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < n; i++) {
      const t0 = process.hrtime.bigint();
      await firstValueFrom(lift.publish(stream, value));
      latencies.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
    spinning = false;
    const cpu = process.cpuUsage(cpu0);
    latencies.sort((a, b) => a - b);
    return { p50: latencies[Math.floor(n / 2)]!, p99: latencies[Math.floor(n * 0.99)]!, cpuUs: (cpu.user + cpu.system) / n };
  };
  await round(3_000, false); // warm-up
  for (let r = 0; r < 4; r++) {
    for (const spin of [false, true]) {
      const x = await round(count, spin);
      console.log(`${spin ? 'busy loop ' : 'plain loop'}  p50 ${x.p50.toFixed(0)} µs  p99 ${x.p99.toFixed(0)} µs  client CPU ${x.cpuUs.toFixed(0)} µs/msg`);
    }
  }
} finally {
  await lift.close();
  await node.stop();
}
