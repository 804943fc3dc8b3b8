/**
 * Where a cursor lives: the server keeps cursors in the internal `__cursors` stream, in the
 * partition that CRC-32 (IEEE) of `"<cursorId>,<stream>,<partition>"` selects, and only that
 * partition's leader answers SetCursor / FetchCursor.
 *
 * Internal (not exported from the package root).
 */
import { crc32 } from '../internal/crc32.js';

/** Name of the server's internal cursors stream. */
export const CURSORS_STREAM = '__cursors';

const encoder = new TextEncoder();

/** The `__cursors` partition that holds a cursor, as the server computes it. */
export function cursorPartition(cursorId: string, stream: string, partition: number, cursorsPartitions: number): number {
  return crc32(encoder.encode(`${cursorId},${stream},${partition}`)) % cursorsPartitions;
}
