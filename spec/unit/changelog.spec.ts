/**
 * The changelog check (scripts/check-changelog.mjs, keep-a-changelog with `## Unreleased` on top):
 * the real CHANGELOG.md passes, and each broken shape fails with the line that is wrong.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'rx-liftbridge-changelog-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the check on `text`; returns its exit status and output. */
function check(text: string | undefined): { status: number; output: string } {
  const args = [join(root, 'scripts', 'check-changelog.mjs')];
  if (text !== undefined) {
    const file = join(dir, `CHANGELOG-${Math.random().toString(36).slice(2)}.md`);
    writeFileSync(file, text);
    args.push(file);
  }
  try {
    const output = execFileSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return { status: 0, output };
  } catch (err) {
    const e = err as { status: number; stderr: string; stdout: string };
    return { status: e.status, output: `${e.stdout}${e.stderr}` };
  }
}

const good = `# Changelog

## Unreleased

### publish pipeline
- Fixed: something.

## [0.2.0] - 2026-11-01

### Added
- A thing.

## 0.1.0 - 2026-10-01
- First release.
`;

describe('changelog check', () => {
  it('passes the repository CHANGELOG.md', () => {
    const r = check(undefined);
    expect(r.output).toMatch(/follows the changelog rules/);
    expect(r.status).toBe(0);
  });

  it('passes a well-formed changelog', () => {
    expect(check(good).status).toBe(0);
  });

  it.each([
    ['no Unreleased section', good.replace('## Unreleased\n\n### publish pipeline\n- Fixed: something.\n\n', ''), /no "## Unreleased" section/],
    [
      'Unreleased below a release',
      `${good.replace('## Unreleased\n\n### publish pipeline\n- Fixed: something.\n\n', '')}\n## Unreleased\n- x\n`,
      /line \d+: "## Unreleased" must be the first section/,
    ],
    ['two Unreleased sections', good.replace('## [0.2.0]', '## Unreleased\n- y\n\n## [0.2.0]'), /a second "## Unreleased"/],
    ['a missing title', good.replace('# Changelog\n', ''), /must start with "# Changelog"/],
    ['a release heading without a date', good.replace('## [0.2.0] - 2026-11-01', '## 0.2.0'), /line 8: "## 0.2.0" is neither/],
    ['releases out of order', good.replace('## 0.1.0 - 2026-10-01', '## 0.3.0 - 2026-10-01'), /0\.3\.0 is newer than the release above/],
    ['a version twice', good.replace('## 0.1.0 - 2026-10-01', '## 0.2.0 - 2026-10-01'), /version 0\.2\.0 appears twice/],
    ['an impossible date', good.replace('2026-11-01', '2026-13-01'), /2026-13-01 is not a date/],
    ['an empty sub-section', good.replace('### Added\n- A thing.\n', '### Added\n'), /line 10: "Added" has no entries/],
    ['a sub-section before any section', good.replace('## Unreleased\n', '### Early\n- z\n\n## Unreleased\n'), /"### Early" is outside any "##" section/],
    ['a second title', `${good}\n# Another\n`, /only the title may be a "#" heading/],
  ])('fails on %s', (_name, text, expected) => {
    const r = check(text);
    expect(r.output).toMatch(expected);
    expect(r.status).toBe(1);
  });
});
