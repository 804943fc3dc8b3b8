/**
 * The hand-written Subscribe decoder started here as a benchmark prototype; it now lives in
 * src/transport/message-decoder.ts and is the SDK's. This module keeps the benchmark's hooks:
 * `installFastMessageDecoder()` swaps it in for ts-proto's generated `Message.decode` (for the
 * raw-HTTP/2 prototype, which decodes through the generated codec).
 */
import { Message, type Message as WireMessage } from '../../../src/generated/liftbridge/api.js';
import { decodeMessage } from '../../../src/transport/message-decoder.js';

export { decodeMessage };

/** Swaps the generated `Message.decode` for the hand-written decoder (in this process). */
export function installFastMessageDecoder(): void {
  (Message as { decode: unknown }).decode = (input: Uint8Array, length?: number): WireMessage => {
    if (length !== undefined) throw new Error('fast decoder: nested decode not supported');
    return decodeMessage(input);
  };
}
