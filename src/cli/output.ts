/**
 * Terminal output of `rxlift`: plain text when stdout is not a terminal or `NO_COLOR` is set;
 * progress bars and live rate lines only on a terminal stderr, cleared before the final line.
 *
 * @module
 */

/** What the process may draw. */
export interface Terminal {
  /** Colours on stdout. */
  readonly color: boolean;
  /** Progress bars and live rate lines on stderr. */
  readonly live: boolean;
}

/** Decides from the environment: no colours or live lines when output is redirected or `NO_COLOR` is set. */
export function detectTerminal(env: NodeJS.ProcessEnv = process.env): Terminal {
  const noColor = env.NO_COLOR !== undefined && env.NO_COLOR !== '';
  const dumb = env.TERM === 'dumb';
  return {
    color: !noColor && !dumb && process.stdout.isTTY === true,
    live: !noColor && !dumb && process.stderr.isTTY === true,
  };
}

/** Wraps `text` in an ANSI style when colours are on. */
export function style(term: Terminal, code: 'bold' | 'dim' | 'green' | 'red' | 'cyan' | 'yellow', text: string): string {
  if (!term.color) return text;
  const codes = { bold: 1, dim: 2, red: 31, green: 32, yellow: 33, cyan: 36 } as const;
  return `\u001b[${codes[code]}m${text}\u001b[0m`;
}

/** A single redrawn stderr line (progress bar or rate); a no-op when not live. At most ~10 draws a second. */
export class LiveLine {
  private lastDraw = 0;
  private drawn = false;
  constructor(private readonly term: Terminal) {}

  update(text: () => string, force = false): void {
    if (!this.term.live) return;
    const now = Date.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const columns = process.stderr.columns;
    const width = Math.max(20, (columns === undefined || columns === 0 ? 100 : columns) - 1);
    process.stderr.write(`\r\u001b[2K${text().slice(0, width)}`);
    this.drawn = true;
  }

  /** Erases the line, so the final summary stands alone. */
  clear(): void {
    if (!this.drawn) return;
    process.stderr.write('\r\u001b[2K');
    this.drawn = false;
  }
}

/** `[#####.....]  50%` */
export function bar(fraction: number, width = 24): string {
  const f = Math.min(1, Math.max(0, fraction));
  const full = Math.round(f * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${String(Math.floor(f * 100)).padStart(3)}%`;
}

/** `1.2k`, `3.4M`. */
export function human(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}

/** `12s`, `3m04s`. */
export function eta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--';
  const s = Math.round(seconds);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/** Latency samples in ms; bounded (a reservoir of `capacity` samples) so a long run keeps constant memory. */
export class Latencies {
  private readonly samples: number[] = [];
  private seen = 0;
  constructor(private readonly capacity = 100_000) {}

  add(ms: number): void {
    this.seen++;
    if (this.samples.length < this.capacity) this.samples.push(ms);
    else {
      const i = Math.floor(Math.random() * this.seen);
      if (i < this.capacity) this.samples[i] = ms;
    }
  }

  /** The `p`-th percentile (0-100), or undefined with no samples. */
  percentile(p: number): number | undefined {
    if (this.samples.length === 0) return undefined;
    const sorted = [...this.samples].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
  }
}

/** Formats `ms` with one decimal, or `-`. */
export function ms(value: number | undefined): string {
  return value === undefined ? '-' : `${value.toFixed(1)}ms`;
}

/** Left-aligned columns separated by two spaces. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** JSON with bigints as strings and Uint8Arrays as UTF-8 text. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : v));
}
