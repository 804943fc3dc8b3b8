/**
 * Enveloped messages with an empty header value, end to end on the pinned server (CI runs this
 * file on the newest release and on main). The unreleased main crashed on such a message when the
 * envelope left the empty value out of its map entry (what the SDK's encoder used to write); the
 * encoder now writes the bytes go-liftbridge's NewMessage writes, checked here against go-liftbridge
 * v2.4.0 itself (tools/go-compare). docs/testing.md has the whole story.
 */
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { connect as natsConnect, createInbox, type NatsConnection } from 'nats';
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type LiftbridgeClient, StartAt, StopAt } from '../../src/index.js';
import { decodeEnvelope, encodeEnvelope, type EnvelopeMessage } from '../../src/publish/envelope.js';
import { uniqueName, useSingleNode } from '../support/broker.js';
import { goTool } from '../support/go-tools.js';

const broker = useSingleNode();
let lift: LiftbridgeClient;
let nats: NatsConnection;
let tool = '';
beforeAll(async () => {
  tool = goTool('go-compare');
  lift = connect({ brokers: [broker.address] });
  nats = await natsConnect({ servers: `127.0.0.1:${broker.natsPort}` });
}, 300_000);
afterAll(async () => {
  await nats?.close();
  await lift?.close();
});

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const text = (b: Uint8Array | undefined): string => new TextDecoder().decode(b);

describe('envelope with an empty header value', () => {
  it('is byte for byte what go-liftbridge NewMessage builds', () => {
    // Go writes map entries in random order: one header per case.
    const cases: { args: string[]; message: EnvelopeMessage }[] = [
      { args: ['-value', '76', '-header', 'h='], message: { value: 'v', headers: { h: '' } } },
      { args: ['-header', '='], message: { value: '', headers: { '': '' } } },
      { args: ['-value', '', '-header', 'e='], message: { value: '', headers: { e: new Uint8Array(0) } } },
      { args: ['-value', '00ff', '-key', '6b', '-header', 'x=0102'], message: { value: Uint8Array.of(0, 255), key: 'k', headers: { x: Uint8Array.of(1, 2) } } },
      {
        args: ['-value', '76', '-key', '6b', '-header', 'h=', '-inbox', 'in.1', '-cid', 'c-1', '-policy', 'all', '-expected', '5'],
        message: { value: 'v', key: 'k', headers: { h: '' }, ackInbox: 'in.1', correlationId: 'c-1', ackPolicy: 'all', expectedOffset: 5n },
      },
      { args: ['-value', '76', '-policy', 'none'], message: { value: 'v', ackPolicy: 'none' } },
    ];
    for (const { args, message } of cases) {
      const go = execFileSync(tool, ['envelope', ...args], { encoding: 'utf8' }).trim();
      expect(hex(encodeEnvelope(message)), args.join(' ')).toBe(go);
    }
  });

  it('is byte for byte what go-liftbridge NewMessage builds, for any value, key, single header, inbox, id, policy and expected offset (property)', () => {
    const bytes = fc.uint8Array({ maxLength: 24 });
    fc.assert(
      fc.property(
        bytes,
        bytes,
        fc.option(
          fc.tuple(
            fc.string({ unit: 'grapheme-ascii', maxLength: 8 }).filter((n) => !n.includes('=')),
            bytes,
          ),
          { nil: undefined },
        ),
        fc.stringMatching(/^[a-z0-9.]{0,12}$/),
        fc.stringMatching(/^[a-z0-9-]{0,12}$/),
        fc.constantFrom('leader', 'all', 'none') as fc.Arbitrary<'leader' | 'all' | 'none'>,
        fc.bigInt({ min: -1n, max: 1n << 40n }),
        (value, key, header, inbox, cid, policy, expected) => {
          const args = ['-value', hex(value), '-key', hex(key), '-inbox', inbox, '-cid', cid, '-policy', policy, '-expected', String(expected)];
          if (header !== undefined) args.push('-header', `${header[0]}=${hex(header[1])}`);
          const go = execFileSync(tool, ['envelope', ...args], { encoding: 'utf8' }).trim();
          const ours = encodeEnvelope({
            value,
            key,
            ...(header === undefined ? {} : { headers: { [header[0]]: header[1] } }),
            ackInbox: inbox,
            correlationId: cid,
            ackPolicy: policy,
            expectedOffset: expected,
          });
          expect(hex(ours)).toBe(go);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('published on the stream subject through NATS, is stored and read back with the empty value, also after a restart', async () => {
    const name = uniqueName('emptyhdr');
    const subject = `emptyhdr.${name}`;
    await firstValueFrom(lift.createStream({ name, subject }));
    const inbox = createInbox();
    const acks = nats.subscribe(inbox, { max: 2 });
    await nats.flush();
    nats.publish(subject, encodeEnvelope({ value: 'first', headers: { empty: '' }, ackInbox: inbox, correlationId: 'e-1' }));
    nats.publish(subject, encodeEnvelope({ value: 'second', headers: { empty: new Uint8Array(0), full: 'x' }, ackInbox: inbox, correlationId: 'e-2' }));
    const offsets: bigint[] = [];
    for await (const m of acks) {
      const d = decodeEnvelope(m.data);
      if (d.type === 'ack' && d.error === undefined) offsets.push(d.ack.offset);
    }
    expect(offsets.sort()).toEqual([0n, 1n]);

    const readAll = async (client: LiftbridgeClient, last: bigint): Promise<void> => {
      const read = await lastValueFrom(client.subscribe(name, { startAt: StartAt.earliest(), stopAt: StopAt.offset(last) }).pipe(toArray()));
      expect(read.map((m) => text(m.value))).toEqual(['first', 'second', 'third'].slice(0, Number(last) + 1));
      expect(read.slice(0, 2).map((m) => m.headers.empty?.length)).toEqual([0, 0]);
      expect(text(read[1]?.headers.full)).toBe('x');
    };
    await readAll(lift, 1n);
    // The stored record is read from disk again after a restart (main stored a left-out value as
    // length -1, which crashed it again on every read).
    await broker.kill('SIGINT'); // graceful: the high watermark is checkpointed, so the messages stay readable
    await broker.restart();
    // A client of its own: this is about the server's stored record, not about reconnecting.
    const fresh = connect({ brokers: [broker.address] });
    try {
      // A new message after the restart: the partition is led again and the earlier ones are committed.
      expect((await firstValueFrom(fresh.publish(name, 'third'))).offset).toBe(2n);
      await readAll(fresh, 2n);
    } finally {
      await fresh.close();
    }
    expect(broker.running).toBe(true);
  });
});
