/**
 * The network-partition fault of the chaos suite: cut one broker off from NATS (and so from its
 * peers: Liftbridge replicates and runs Raft over NATS) and from every client, then heal it.
 *
 * Only inside a private network namespace (`unshare -n`, as root): the whole run, cluster and
 * clients, lives on that namespace's own loopback, so the rules below touch nothing else on the
 * machine. A cut is policy routing: `ip rule ... ipproto tcp sport|dport <port> blackhole` for the
 * broker's client port and for each of its NATS connections (found with `ss`), placed before the
 * `local` table's rule so loopback traffic is routed through them. Established connections stall
 * (no RST, no FIN: packets vanish, as in a real partition); when the rules go, TCP retransmits.
 *
 *   sudo unshare -n env CHAOS_NETNS=1 npm run chaos
 *
 * (This kernel has no netem/prio qdisc and the machine no iptables/nft; `ip rule` with port
 * selectors needs only CAP_NET_ADMIN in the namespace.)
 */
import { execFileSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';

const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/**
 * True when this process runs in a network namespace of its own: one with no interface but `lo`
 * (what `unshare -n` creates), and, where /proc/1 is readable, not the namespace of pid 1.
 */
export function inPrivateNetns(): boolean {
  try {
    if (readlinkSync('/proc/self/ns/net') === readlinkSync('/proc/1/ns/net')) return false;
  } catch {
    // /proc/1/ns is not readable in some containers: the interface check decides.
  }
  try {
    const names = ip('-o', 'link', 'show')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => l.split(':')[1]?.trim());
    return names.length === 1 && names[0] === 'lo';
  } catch {
    return false;
  }
}

/**
 * Brings the namespace's loopback up and moves the `local` table's rule from preference 0 to 100,
 * so the cut's rules (preference 10) are consulted first. Throws outside a private namespace.
 */
export function prepareNetns(): void {
  if (!inPrivateNetns()) {
    throw new Error('CHAOS_NETNS=1 needs a private network namespace: run `unshare -n env CHAOS_NETNS=1 npm run chaos` as root');
  }
  ip('link', 'set', 'lo', 'up');
  const rules = ip('rule', 'show');
  if (!/^100:\s+from all lookup local/m.test(rules)) ip('rule', 'add', 'pref', '100', 'lookup', 'local');
  if (/^0:\s+from all lookup local/m.test(rules)) ip('rule', 'del', 'pref', '0', 'lookup', 'local');
}

/** Local ports of `pid`'s established TCP connections to `peerPort` on 127.0.0.1. */
export function connectionPorts(pid: number, peerPort: number): number[] {
  const out = execFileSync('ss', ['-tnpH', 'state', 'established'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const ports: number[] = [];
  for (const line of out.split('\n')) {
    if (!line.includes(`pid=${pid},`)) continue;
    const cols = line.trim().split(/\s+/);
    // Recv-Q Send-Q Local:Port Peer:Port Process (state omitted with `state established`)
    const local = cols[2];
    const peer = cols[3];
    if (local === undefined || peer === undefined || !peer.endsWith(`:${peerPort}`)) continue;
    const port = Number(local.slice(local.lastIndexOf(':') + 1));
    if (Number.isInteger(port)) ports.push(port);
  }
  return ports;
}

/** A broker cut off; `heal()` removes every rule it added (idempotent). */
export interface Cut {
  /** Ports blocked so far (the client port, then the NATS connections' local ports). */
  readonly ports: readonly number[];
  /** Blocks NATS connections the broker opened since the cut (it reconnects from new ports). */
  refresh(): void;
  heal(): void;
}

/** Cuts the broker `pid` (client port `port`, talking to NATS on `natsPort`) off. */
export function cutOff(pid: number, port: number, natsPort: number): Cut {
  const blocked: number[] = [];
  const block = (p: number): void => {
    if (blocked.includes(p)) return;
    blocked.push(p);
    for (const dir of ['sport', 'dport']) ip('rule', 'add', 'pref', '10', 'ipproto', 'tcp', dir, String(p), 'blackhole');
  };
  let healed = false;
  const cut: Cut = {
    ports: blocked,
    refresh: () => {
      if (healed) return;
      for (const p of connectionPorts(pid, natsPort)) block(p);
    },
    heal: () => {
      if (healed) return;
      healed = true;
      for (const p of blocked) {
        for (const dir of ['sport', 'dport']) {
          try {
            ip('rule', 'del', 'pref', '10', 'ipproto', 'tcp', dir, String(p), 'blackhole');
          } catch {
            // already gone
          }
        }
      }
    },
  };
  block(port);
  cut.refresh();
  return cut;
}
