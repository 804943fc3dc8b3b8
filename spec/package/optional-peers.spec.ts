/**
 * Optional peers stay optional: nothing reachable from the package root imports OpenTelemetry
 * (or a logger library); only the `rx-liftbridge/otel` subpath does. Walks the source import graph
 * (runtime and type imports) from each entry point and lists the bare package names it reaches.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '..', '..', 'src');

function specifiers(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const out: string[] = [];
  for (const re of [
    /\b(?:import|export)\b[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g,
    /\brequire\(\s*['"]([^'"]+)['"]\s*\)/g,
  ]) {
    for (const m of code.matchAll(re)) out.push(m[1] as string);
  }
  return out;
}

function resolveRelative(from: string, specifier: string): string {
  const base = resolve(dirname(from), specifier);
  for (const candidate of [base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')]) {
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // next candidate
    }
  }
  throw new Error(`${from}: cannot resolve '${specifier}'`);
}

/** Bare package names (`@scope/name` or `name`) reachable from `entry`. */
function packagesReachedFrom(entry: string): Set<string> {
  const packages = new Set<string>();
  const seen = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    for (const s of specifiers(readFileSync(file, 'utf8'))) {
      if (s.startsWith('.')) queue.push(resolveRelative(file, s));
      else if (!s.startsWith('node:')) packages.add(s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : (s.split('/')[0] as string));
    }
  }
  return packages;
}

const OPTIONAL = [/^@opentelemetry\//, /^pino$/, /^winston$/, /^@nestjs\//, /^@angular\//];

describe('optional peer dependencies', () => {
  it('the root entry reaches no optional peer (nothing of OpenTelemetry, pino or winston loads without the subpath)', () => {
    const reached = [...packagesReachedFrom(join(SRC, 'index.ts'))];
    expect(reached.filter((p) => OPTIONAL.some((re) => re.test(p)))).toEqual([]);
    expect(reached).toContain('rxjs');
  });

  it('rx-liftbridge/otel reaches @opentelemetry/api and nothing else of OpenTelemetry (the check can fail)', () => {
    const reached = [...packagesReachedFrom(join(SRC, 'otel', 'index.ts'))].filter((p) => p.startsWith('@opentelemetry/'));
    expect(reached).toEqual(['@opentelemetry/api']);
  });

  it('rx-liftbridge/angular reaches @angular/core only, and the browser entry reaches nothing of Angular', () => {
    const reached = [...packagesReachedFrom(join(SRC, 'angular', 'index.ts'))].filter((p) => OPTIONAL.some((re) => re.test(p)));
    expect(reached).toEqual(['@angular/core']);
    const browser = [...packagesReachedFrom(join(SRC, 'browser', 'index.ts'))];
    expect(browser.filter((p) => p.startsWith('@angular/'))).toEqual([]);
  });
});
