/**
 * Options of the admin operations that change a stream's state.
 */

/** Options of `pauseStream`. */
export interface PauseStreamOptions {
  /** Partitions to pause; omitted or empty = all. */
  partitions?: readonly number[];
  /** When set, a publish to any partition resumes all partitions of the stream. @defaultValue false */
  resumeAll?: boolean;
}

/** Options of `setStreamReadonly`. */
export interface SetStreamReadonlyOptions {
  /** Partitions to change; omitted or empty = all. */
  partitions?: readonly number[];
  /** `true` makes them readonly, `false` writable again. @defaultValue true */
  readonly?: boolean;
}
