/**
 * Foreground single-node Liftbridge for manual use; started by scripts/broker.mjs (`npm run broker`).
 *
 *   node --import tsx scripts/broker-main.ts [--port N]
 *
 * Port: --port, else 9292 if free, else a free one. Ctrl-C stops the server gracefully (twice: at once).
 */
import { createServer } from 'node:net';
import { killAllSync, liftbridgeVersion, setSignalCleanup, startSingleNode, defaultPin } from '../spec/support/broker.js';

function parsePort(argv: readonly string[]): number | undefined {
  const i = argv.findIndex((a) => a === '--port' || a.startsWith('--port='));
  if (i < 0) return undefined;
  const arg = argv[i] ?? '';
  const raw = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : argv[i + 1];
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new Error(`--port needs a port number (1-65535), got ${JSON.stringify(raw)}`);
  return port;
}

async function isFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer();
    server.once('error', () => done(false));
    server.listen(port, '127.0.0.1', () => server.close(() => done(true)));
  });
}

async function main(): Promise<void> {
  const requested = parsePort(process.argv.slice(2));
  const port = requested ?? ((await isFree(9292)) ? 9292 : undefined);
  if (requested !== undefined && !(await isFree(requested))) {
    throw new Error(`port ${requested} on 127.0.0.1 is in use`);
  }

  // We stop gracefully ourselves on Ctrl-C; the harness's exit hook still kills on any exit.
  setSignalCleanup(false);
  let stopping = false;
  let node: Awaited<ReturnType<typeof startSingleNode>> | undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping || node === undefined) {
      killAllSync();
      process.exit(130);
    }
    stopping = true;
    console.log(`\n[broker] ${signal}: stopping (again to kill at once)...`);
    void node.stop().then(
      () => {
        console.log('[broker] stopped, data removed');
        process.exit(0);
      },
      (err: unknown) => {
        console.error('[broker] stop failed:', err);
        process.exit(1);
      },
    );
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);

  const pin = defaultPin();
  console.log(`[broker] starting liftbridge ${liftbridgeVersion(pin)} (${pin} pin)...`);
  node = await startSingleNode({ ...(port !== undefined ? { port } : {}), readyTimeoutMs: 60_000 });
  console.log(`[broker] ready (pid ${node.pid}, embedded NATS on 127.0.0.1:${node.natsPort}, namespace ${node.namespace})`);
  console.log(`[broker] log:      ${node.logFile}`);
  console.log(`[broker] cursors and the activity stream are enabled. Ctrl-C to stop.`);
  console.log(`[broker] address:  ${node.address}`);

  const exit = await node.waitForExit();
  if (!stopping) {
    console.error(`[broker] liftbridge exited on its own (code ${exit.code}, signal ${exit.signal}). Last log lines:\n${node.logTail(30)}`);
    process.exit(1);
  }
}

main().catch((err: unknown) => {
  console.error(`[broker] ${err instanceof Error ? err.message : String(err)}`);
  killAllSync();
  process.exit(1);
});
