/**
 * Consumer-group consumption with windowed commits vs a plain subscribe of the same backlog
 * (issue: "goal >= 0.95x"), and how many SetCursor calls the commits made.
 *
 *   npm run bench:groups                       # defaults below
 *   BENCH_MESSAGES=400000 BENCH_ROUNDS=5 npm run bench:groups
 *
 * One broker (test harness), one backlog loaded with the Go loader, then interleaved rounds
 * (warm-up discarded): subscribe, group, subscribe, group, ... each in its own process.
 * Prints a JSON line per round (also appended to bench/results/groups.jsonl) and a summary.
 */
import {
  appendJsonLine,
  buildGoTool,
  envInt,
  loadBacklog,
  machineNotes,
  median,
  pinned,
  pinning,
  resultsFile,
  runJson,
  startPinnedBroker,
} from '../subscribe/common.js';

interface Round {
  mode: 'subscribe' | 'group';
  msgs: number;
  seconds: number;
  msgPerSec: number;
  cpuUsPerMsg: number;
  setCursorCalls: number;
  ok: boolean;
}

async function main(): Promise<void> {
  const messages = envInt('BENCH_MESSAGES', 200_000);
  const partitions = envInt('BENCH_PARTITIONS', 4);
  const rounds = envInt('BENCH_ROUNDS', 5);
  const pin = pinning();
  buildGoTool();
  const broker = await startPinnedBroker(pin);
  const out = resultsFile('groups');
  try {
    const stream = `bench-groups-${Date.now()}`;
    await loadBacklog(pin, broker.address, stream, partitions, messages, 256);
    const results: Round[] = [];
    for (let r = 0; r <= rounds; r++) {
      for (const mode of ['subscribe', 'group'] as const) {
        const [cmd, args] = pinned(pin, process.execPath, [
          '--import',
          'tsx',
          'bench/groups/child.ts',
          mode,
          broker.address,
          stream,
          String(partitions),
          String(messages),
          `bench-${r}-${Date.now()}`,
        ]);
        const res = await runJson<Round>(cmd, args);
        const line = { round: r, warmup: r === 0, ...res };
        console.log(JSON.stringify(line));
        appendJsonLine(out, { ...line, machine: machineNotes(pin) });
        if (!res.ok) throw new Error(`round ${r} ${mode} read wrong data`);
        if (r > 0) results.push(res);
      }
    }
    const of = (mode: Round['mode']) => results.filter((x) => x.mode === mode);
    const ratios = of('group').map((g, i) => g.msgPerSec / (of('subscribe')[i]?.msgPerSec ?? Number.NaN));
    const summary = {
      messages,
      partitions,
      rounds,
      subscribeMsgPerSec: Math.round(median(of('subscribe').map((x) => x.msgPerSec))),
      groupMsgPerSec: Math.round(median(of('group').map((x) => x.msgPerSec))),
      medianRatioGroupToSubscribe: Number(median(ratios).toFixed(3)),
      subscribeCpuUsPerMsg: Number(median(of('subscribe').map((x) => x.cpuUsPerMsg)).toFixed(2)),
      groupCpuUsPerMsg: Number(median(of('group').map((x) => x.cpuUsPerMsg)).toFixed(2)),
      setCursorCallsPerRun: median(of('group').map((x) => x.setCursorCalls)),
      pinned: pin.enabled,
    };
    console.log('summary', JSON.stringify(summary));
  } finally {
    await broker.stop();
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
