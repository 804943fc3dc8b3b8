/**
 * Arrows point one way: no file in src/ reaches itself through relative imports (type-only
 * imports and re-exports included; a hand-written depth-first search over the import graph), the
 * lower layers never import a feature folder or the facade, and every file stays small enough
 * to hold in one's head.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(__dirname, '../../src');

/**
 * Cycles accepted for now, each with the reason (as 'a.ts -> b.ts -> a.ts', starting at the
 * smallest path). Any other cycle fails the spec.
 */
const ALLOWED: readonly string[] = [];

export function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Relative specifiers of `import ... from`, `export ... from`, `import type`, `import('...')`. */
export function relativeImports(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const found: string[] = [];
  const patterns = [/\b(?:import|export)\b[^'"`;]*?\bfrom\s*['"](\.[^'"]+)['"]/g, /\bimport\s*['"](\.[^'"]+)['"]/g, /\bimport\(\s*['"](\.[^'"]+)['"]\s*\)/g];
  for (const re of patterns) for (const m of code.matchAll(re)) found.push(m[1] as string);
  return found;
}

function resolveSpecifier(from: string, specifier: string): string {
  const base = resolve(dirname(from), specifier);
  for (const candidate of [base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')]) {
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // next candidate
    }
  }
  throw new Error(`${relative(SRC, from)}: cannot resolve '${specifier}'`);
}

/** Every elementary cycle found by a DFS (each reported once, rotated to start at its smallest file). */
export function findCycles(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const cycles = new Map<string, string[]>();
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): void => {
    state.set(node, 'visiting');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'visiting') {
        const cycle = stack.slice(stack.indexOf(next));
        const start = cycle.indexOf([...cycle].sort()[0] as string);
        const rotated = [...cycle.slice(start), ...cycle.slice(0, start)];
        cycles.set(rotated.join(' -> '), rotated);
      } else if (state.get(next) === undefined) {
        visit(next);
      }
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of [...graph.keys()].sort()) if (state.get(node) === undefined) visit(node);
  return [...cycles.values()];
}

describe('import graph of src/', () => {
  it('finds a cycle in a small graph (the check can fail)', () => {
    const g = new Map([
      ['a', ['b']],
      ['b', ['c']],
      ['c', ['a']],
      ['d', ['a']],
    ]);
    expect(findCycles(g)).toEqual([['a', 'b', 'c']]);
    expect(relativeImports(`import type { X } from './x.js';\nexport * from "../y.js";\n// import { z } from './z.js';\nimport './side.js';`)).toEqual([
      './x.js',
      '../y.js',
      './side.js',
    ]);
  });

  it('has no import cycle (type imports included)', () => {
    const files = sourceFiles(SRC);
    const graph = new Map(files.map((f) => [relative(SRC, f), relativeImports(readFileSync(f, 'utf8')).map((s) => relative(SRC, resolveSpecifier(f, s)))]));
    const cycles = findCycles(graph)
      .map((c) => [...c, c[0]].join(' -> '))
      .filter((c) => !ALLOWED.includes(c));
    expect(cycles).toEqual([]);
  });
});

/** Folders below the features: they never import a feature folder or the facade. */
const LOWER = ['core', 'transport', 'metadata', 'retry', 'internal', 'errors', 'generated'];
const FEATURES = ['admin', 'publish', 'subscribe', 'consume', 'observability', 'browser', 'angular', 'nestjs', 'otel', 'cli'];
const FACADE = ['client.ts', 'connect.ts', 'index.ts'];
/** The features the facade composes; the framework layers (nestjs, angular, otel, cli) sit above it and use the public API. */
const COMPOSED = ['admin', 'publish', 'subscribe', 'consume', 'observability', 'browser'];

function importGraph(): Map<string, string[]> {
  const files = sourceFiles(SRC);
  return new Map(files.map((f) => [relative(SRC, f), relativeImports(readFileSync(f, 'utf8')).map((s) => relative(SRC, resolveSpecifier(f, s)))]));
}

describe('layers of src/', () => {
  it('the core, transport and other lower folders import no feature folder and not the facade', () => {
    const wrong: string[] = [];
    for (const [file, imports] of importGraph()) {
      if (!LOWER.includes(file.split('/')[0] as string)) continue;
      for (const target of imports) {
        const top = target.split('/')[0] as string;
        if (FEATURES.includes(top) || FACADE.includes(target)) wrong.push(`${file} -> ${target}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('the features the facade composes never import it (client.ts, connect.ts, index.ts)', () => {
    const wrong: string[] = [];
    for (const [file, imports] of importGraph()) {
      if (!COMPOSED.includes(file.split('/')[0] as string)) continue;
      for (const target of imports) if (FACADE.includes(target)) wrong.push(`${file} -> ${target}`);
    }
    expect(wrong).toEqual([]);
  });

  it('no source file is over 400 lines (generated code aside), and the facade stays under 250', () => {
    const long = sourceFiles(SRC)
      .map((f) => ({ file: relative(SRC, f), lines: readFileSync(f, 'utf8').trimEnd().split('\n').length }))
      .filter((f) => !f.file.startsWith('generated/') && f.lines > 400)
      .map((f) => `${f.file}: ${f.lines}`);
    expect(long).toEqual([]);
    expect(readFileSync(join(SRC, 'client.ts'), 'utf8').trimEnd().split('\n').length).toBeLessThan(250);
  });
});
