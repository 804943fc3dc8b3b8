/**
 * The broker health the publish pipeline reads: the core's (src/core/broker-health.ts), so that
 * publishing and routing share one model of which brokers failed.
 *
 * Internal: not exported from the package root.
 */
import { BrokerHealth } from '../core/broker-health.js';
import { ClientCore } from '../core/client-core.js';

export { BrokerHealth, QUARANTINE_MS } from '../core/broker-health.js';

const standalone = new WeakMap<object, BrokerHealth>();

/** The client's broker health (a host that is not a client core, e.g. a spec's fake, gets its own). */
export function brokerHealth(owner: object): BrokerHealth {
  if (owner instanceof ClientCore) return owner.health;
  let h = standalone.get(owner);
  if (h === undefined) {
    h = new BrokerHealth();
    standalone.set(owner, h);
  }
  return h;
}
