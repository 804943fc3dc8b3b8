/**
 * `npm run docs` (TypeDoc over the public API, src/index.ts) must build with no warnings:
 * typedoc.json treats warnings as errors, so a broken `{@link}` or a public signature naming a type
 * that is not exported fails here.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..', '..');

it('TypeDoc builds the API reference with no warnings', async () => {
  const local = join(root, 'node_modules', '.bin', 'typedoc');
  const typedoc = existsSync(local) ? local : 'typedoc';
  const result = await new Promise<{ code: number; output: string }>((done) => {
    execFile(typedoc, ['--emit', 'none'], { cwd: root, env: { ...process.env, NO_COLOR: '1' } }, (error, stdout, stderr) => {
      done({
        code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1,
        output: `${stdout}${stderr}${error !== null && typeof error.code !== 'number' ? String(error) : ''}`,
      });
    });
  });
  expect(result.output).not.toMatch(/\[warning\]|\[error\]/);
  expect(result.code).toBe(0);
}, 120_000);
