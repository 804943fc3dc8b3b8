/**
 * Where the publishing examples find a broker: `LIFTBRIDGE_BROKERS=host:port[,host:port]` (and
 * `LIFTBRIDGE_NATS=host:port` for the NATS example), else a local single node started for the run
 * (installed by `npm run install-servers`).
 */
import { startSingleNode } from '../../spec/support/broker.js';

export interface ExampleBroker {
  readonly brokers: string[];
  /** host:port of the NATS server the brokers use. */
  readonly nats: string;
  stop(): Promise<void>;
}

export async function exampleBroker(): Promise<ExampleBroker> {
  const external = process.env.LIFTBRIDGE_BROKERS;
  if (external !== undefined && external !== '') {
    return { brokers: external.split(','), nats: process.env.LIFTBRIDGE_NATS ?? '127.0.0.1:4222', stop: async () => {} };
  }
  const node = await startSingleNode();
  return { brokers: [node.address], nats: `127.0.0.1:${node.natsPort}`, stop: () => node.stop() };
}
