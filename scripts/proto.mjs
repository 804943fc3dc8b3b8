#!/usr/bin/env node
// Regenerates src/generated/ from protos/ with buf + ts-proto (both pinned in
// package.json). `--check` generates into a temporary folder and exits 1 when
// the committed code differs, so a stale src/generated/ cannot go unnoticed.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const committed = join(root, 'src', 'generated');
const buf = join(root, 'node_modules', '.bin', 'buf');

function generate(outDir) {
  // --output rewrites every plugin's `out` relative to it; buf.gen.yaml says src/generated.
  execFileSync(buf, ['generate', '--output', outDir], { cwd: root, stdio: 'inherit' });
  return join(outDir, 'src', 'generated');
}

function listFiles(dir) {
  const out = [];
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

/** Returns the list of differences between two generated trees (empty when equal). */
export function compareTrees(expectedDir, actualDir) {
  const problems = [];
  const expected = listFiles(expectedDir);
  const actual = listFiles(actualDir);
  for (const f of expected) {
    if (!actual.includes(f)) problems.push(`missing: src/generated/${f}`);
    else if (readFileSync(join(expectedDir, f), 'utf8') !== readFileSync(join(actualDir, f), 'utf8')) {
      problems.push(`stale: src/generated/${f}`);
    }
  }
  for (const f of actual) if (!expected.includes(f)) problems.push(`extra: src/generated/${f}`);
  return problems;
}

export function checkGenerated() {
  const tmp = mkdtempSync(join(tmpdir(), 'rx-liftbridge-proto-'));
  try {
    const fresh = generate(tmp);
    return compareTrees(fresh, committed);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--check')) {
    const problems = checkGenerated();
    if (problems.length > 0) {
      console.error(`src/generated/ is stale; run \`npm run proto\`:\n  ${problems.join('\n  ')}`);
      process.exit(1);
    }
    console.log('src/generated/ is up to date.');
  } else {
    rmSync(committed, { recursive: true, force: true });
    generate(root);
    console.log('Regenerated src/generated/ from protos/.');
  }
}
