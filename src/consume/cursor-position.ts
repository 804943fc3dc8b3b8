/**
 * What `setCursor()` stores and `fetchCursor()` reads.
 */

/** The cursor `setCursor` stores. */
export interface CursorPosition {
  stream: string;
  partition: number;
  cursorId: string;
  /** The last processed offset (`-1n`: none). */
  offset: bigint;
}

/** The cursor `fetchCursor` reads. */
export type CursorKey = Omit<CursorPosition, 'offset'>;
