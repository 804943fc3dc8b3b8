/**
 * The end of a slow-consumer read's warm-up, shared by slow-consumer.ts (which measures after it)
 * and its child (which runs until a minute after it): V8's first full collection at least 1 s into
 * the read, if there is one in its first 60 s; else 10 s. Until then V8 is still sizing its heap to
 * the load (on 4 partitions its young generation grows from 16 to 32 MB).
 *
 * `majorGcs`: seconds since subscribe at which full collections ended. `elapsed`: seconds the read
 * has run so far (omitted once it is over). Undefined while it cannot be known yet.
 */
export function warmUpEnd(majorGcs: readonly number[], elapsed = Number.POSITIVE_INFINITY): number | undefined {
  const first = majorGcs.find((t) => t >= 1);
  if (first !== undefined && first < 60) return first;
  return elapsed >= 60 ? 10 : undefined;
}
