#!/usr/bin/env node
// Checks CHANGELOG.md against the project's keep-a-changelog rules (CONTRIBUTING.md):
//   - it starts with `# Changelog`;
//   - the first `##` section is `## Unreleased` (or `## [Unreleased]`), and there is only one;
//   - every other `##` section is a release, `## [1.2.3] - 2026-11-28` (brackets optional), newest
//     first, each version once;
//   - `###` sub-headings (an area or a kind of change) only inside a `##` section, none empty;
//   - no `#` heading after the title.
// `node scripts/check-changelog.mjs [file]` exits 1 and lists the problems; spec/unit/changelog.spec.ts
// runs the same check in the suite.

import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const UNRELEASED = /^## \[?Unreleased\]?\s*$/i;
const RELEASE = /^## \[?(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?\]? - (\d{4})-(\d{2})-(\d{2})\s*$/;

function compareVersions(a, b) {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

/** Returns the problems found in a changelog's text (empty when it follows the rules). */
export function checkChangelog(text) {
  const problems = [];
  const lines = text.split(/\r?\n/);
  if (lines[0] !== '# Changelog') problems.push('line 1: the file must start with "# Changelog"');

  let sections = 0;
  let sawUnreleased = false;
  let previous; // [major, minor, patch] of the release above
  const seen = new Set();
  let inSection = false;
  let openSub; // { line, name, hasContent }
  let inFence = false;

  const closeSub = () => {
    if (openSub !== undefined && !openSub.hasContent) problems.push(`line ${openSub.line}: "${openSub.name}" has no entries`);
    openSub = undefined;
  };

  lines.forEach((line, index) => {
    const n = index + 1;
    if (/^\s*```/.test(line)) inFence = !inFence;
    if (inFence) {
      if (openSub !== undefined) openSub.hasContent = true;
      return;
    }
    if (n > 1 && /^# /.test(line)) {
      problems.push(`line ${n}: only the title may be a "#" heading`);
      return;
    }
    if (/^## /.test(line)) {
      closeSub();
      sections += 1;
      inSection = true;
      if (UNRELEASED.test(line)) {
        if (sawUnreleased) problems.push(`line ${n}: a second "## Unreleased" section`);
        else if (sections !== 1) problems.push(`line ${n}: "## Unreleased" must be the first section`);
        sawUnreleased = true;
        return;
      }
      const m = RELEASE.exec(line);
      if (m === null) {
        problems.push(`line ${n}: "${line}" is neither "## Unreleased" nor "## [x.y.z] - YYYY-MM-DD"`);
        return;
      }
      const month = Number(m[6]);
      const day = Number(m[7]);
      if (month < 1 || month > 12 || day < 1 || day > 31) problems.push(`line ${n}: ${m[5]}-${m[6]}-${m[7]} is not a date`);
      const version = [Number(m[1]), Number(m[2]), Number(m[3])];
      const key = version.join('.') + (m[4] ?? '');
      if (seen.has(key)) problems.push(`line ${n}: version ${key} appears twice`);
      seen.add(key);
      if (previous !== undefined && compareVersions(version, previous) > 0) {
        problems.push(`line ${n}: version ${key} is newer than the release above it (newest first)`);
      }
      previous = version;
      return;
    }
    if (/^### /.test(line)) {
      closeSub();
      if (!inSection) problems.push(`line ${n}: "${line}" is outside any "##" section`);
      openSub = { line: n, name: line.slice(4).trim(), hasContent: false };
      return;
    }
    if (line.trim() !== '') {
      if (openSub !== undefined) openSub.hasContent = true;
      else if (!inSection && n > 1) {
        // Free text between the title and the first section is an introduction: allowed.
      }
    }
  });
  closeSub();
  if (!sawUnreleased) problems.push('no "## Unreleased" section: add one at the top, above the releases');
  return problems;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const file = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'CHANGELOG.md');
  const problems = checkChangelog(readFileSync(file, 'utf8'));
  if (problems.length > 0) {
    console.error(`${file}:\n  ${problems.join('\n  ')}`);
    process.exit(1);
  }
  console.log(`${file} follows the changelog rules.`);
}
