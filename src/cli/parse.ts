/**
 * Argument parsers of the `rxlift` command line: durations, positions, headers, partitions.
 * Each throws commander's InvalidArgumentError, so a bad value ends as a usage error (exit 2)
 * naming the option before anything is sent.
 *
 * @module
 */
import { InvalidArgumentError as UsageError } from 'commander';
import { StartAt, StopAt, type StartPosition, type StopPosition } from '../index.js';

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `250ms`, `10s`, `5m`, `2h`, `1d` or a bare number of milliseconds. */
export function parseDurationMs(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (m === null) throw new UsageError(`expected a duration such as 500ms, 10s, 5m, 2h or 1d, got '${text}'`);
  return Math.round(Number(m[1]) * (UNITS[m[2] ?? 'ms'] ?? 1));
}

/** A non-negative integer no larger than `max`. */
export function parseCount(text: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`expected a whole number, got '${text}'`);
  const n = Number(text);
  if (n < min || n > max) throw new UsageError(`expected a number from ${min} to ${max}, got ${n}`);
  return n;
}

/** Collects a repeatable option's values. */
export function collect<T>(parse: (text: string) => T): (text: string, previous: T[] | undefined) => T[] {
  return (text, previous) => [...(previous ?? []), parse(text)];
}

/** A partition number; `1,2,3` also works. */
export function collectPartitions(text: string, previous: number[] | undefined): number[] {
  return [...(previous ?? []), ...text.split(',').map((p) => parseCount(p, 0, 2_147_483_647))];
}

/** `k=v` for `--header`. */
export function collectHeader(text: string, previous: Record<string, string> | undefined): Record<string, string> {
  const at = text.indexOf('=');
  if (at <= 0) throw new UsageError(`expected a header as name=value, got '${text}'`);
  return { ...(previous ?? {}), [text.slice(0, at)]: text.slice(at + 1) };
}

function parseDate(text: string): Date {
  const d = new Date(text);
  if (Number.isNaN(d.getTime())) throw new UsageError(`expected an ISO 8601 time such as 2026-01-31T12:00:00Z, got '${text}'`);
  return d;
}

function parseOffset(text: string): bigint {
  if (!/^\d+$/.test(text)) throw new UsageError(`expected an offset (a whole number), got '${text}'`);
  return BigInt(text);
}

/** `--from`: earliest | latest | new | offset:N | time:<ISO> | ago:<duration> | cursor:<id>. */
export function parseStart(text: string): StartPosition {
  const [kind, ...rest] = text.split(':');
  const arg = rest.join(':');
  switch (kind) {
    case 'earliest':
      return StartAt.earliest();
    case 'latest':
      return StartAt.latest();
    case 'new':
      return StartAt.newOnly();
    case 'offset':
      return StartAt.offset(parseOffset(arg));
    case 'time':
      return StartAt.time(parseDate(arg));
    case 'ago':
      return StartAt.ago(Math.max(1, parseDurationMs(arg)));
    case 'cursor':
      if (arg === '') throw new UsageError('expected cursor:<id>');
      return StartAt.cursor(arg);
    default:
      throw new UsageError(`expected earliest, latest, new, offset:N, time:<ISO>, ago:<duration> or cursor:<id>, got '${text}'`);
  }
}

/** `--to`: latest | offset:N | time:<ISO>. */
export function parseStop(text: string): StopPosition {
  const [kind, ...rest] = text.split(':');
  const arg = rest.join(':');
  switch (kind) {
    case 'latest':
      return StopAt.latest();
    case 'offset':
      return StopAt.offset(parseOffset(arg));
    case 'time':
      return StopAt.time(parseDate(arg));
    default:
      throw new UsageError(`expected latest, offset:N or time:<ISO>, got '${text}'`);
  }
}

/** One of `choices`. */
export function oneOf<T extends string>(choices: readonly T[]): (text: string) => T {
  return (text) => {
    if (!(choices as readonly string[]).includes(text)) throw new UsageError(`expected one of ${choices.join(', ')}, got '${text}'`);
    return text as T;
  };
}
