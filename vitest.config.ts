import { existsSync, readdirSync } from 'node:fs';
import { defineConfig, type TestProjectInlineConfiguration } from 'vitest/config';

/**
 * Projects:
 * - unit:        pure logic, no servers.
 * - integration: real single-node Liftbridge per file (spec/support/broker.ts).
 * - cluster:     real 3-node clusters; one file at a time (Vitest runs such a project after the others).
 * - harness:     tests of the harness itself.
 * - otel:        rx-liftbridge/otel with the OTel SDK's in-memory exporters, real single node.
 * - nestjs:      the NestJS adapter (src/nestjs) in real Nest apps on a real single node.
 * - cli:         the rxlift command line, spawned against a real single node (spec/cli).
 * - package:     the packed tarball: attw, publint, ESM/CJS/bundler consumers against a real node.
 * - chaos:       seeded faults on a real cluster (spec/chaos); only with `--project chaos` (`npm run chaos`).
 * - compat:      smoke suite for the compatibility pin; `npm run test:compat`
 *                (LIFTBRIDGE_PIN=compatibility vitest run --project compat).
 * `vitest run` runs every project except compat. compat joins when it is selected with --project or
 * when LIFTBRIDGE_PIN=compatibility.
 * Server pins (liftbridge-versions.json, spec/support/broker.ts): LIFTBRIDGE_PIN=primary (default, the
 * newest release), main (the unreleased main: `npm run test:main` runs integration, cluster and
 * harness on it) or compatibility. Specs that need a given server say so and skip with the reason.
 */

const brokerSetup = ['./spec/support/global-setup.ts'];

/** Values of `--project X` / `--project=X` on the Vitest command line. */
function requestedProjects(argv: readonly string[]): string[] {
  const out: string[] = [];
  argv.forEach((arg, i) => {
    if (arg === '--project') {
      const next = argv[i + 1];
      if (next !== undefined) out.push(next);
    } else if (arg.startsWith('--project=')) {
      out.push(arg.slice('--project='.length));
    }
  });
  return out;
}

function matches(pattern: string, name: string): boolean {
  const regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return regex.test(name);
}

function hasSpecFiles(dir: string): boolean {
  if (!existsSync(dir)) return false;
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).some((f) => f.endsWith('.spec.ts'));
}

const requested = requestedProjects(process.argv).filter((p) => !p.startsWith('!'));
const compatRequested = requested.some((p) => matches(p, 'compat'));
const includeCompat = compatRequested || process.env.LIFTBRIDGE_PIN === 'compatibility';
const onlyCompat = requested.length > 0 && requested.every((p) => matches(p, 'compat'));

const brokerProject = {
  pool: 'forks',
  globalSetup: brokerSetup,
} as const;

const projects: TestProjectInlineConfiguration[] = [
  {
    test: {
      name: 'unit',
      include: ['spec/unit/**/*.spec.ts'],
      // Property specs run thousands of cases; on a loaded 2-core machine 5 s is not enough.
      testTimeout: 30_000,
    },
  },
  {
    test: {
      ...brokerProject,
      name: 'integration',
      include: ['spec/integration/**/*.spec.ts'],
      testTimeout: 60_000,
      hookTimeout: 90_000,
    },
  },
  {
    test: {
      ...brokerProject,
      name: 'cluster',
      include: ['spec/cluster/**/*.spec.ts'],
      fileParallelism: false,
      testTimeout: 180_000,
      hookTimeout: 180_000,
    },
  },
  {
    test: {
      ...brokerProject,
      // The published tarball in throwaway ESM/CJS/bundler projects (spec/package); `npm run check:package`.
      name: 'package',
      include: ['spec/package/**/*.spec.ts'],
      testTimeout: 180_000,
      hookTimeout: 180_000,
    },
  },
  {
    test: {
      ...brokerProject,
      // NestJS apps (rx-liftbridge/nestjs) on a real single node; spec/nestjs/tsconfig.json turns on
      // the legacy decorators for these files only.
      name: 'nestjs',
      include: ['spec/nestjs/**/*.spec.ts'],
      // cluster-failover.spec.ts starts a 3-node cluster: one file at a time, like the cluster project.
      fileParallelism: false,
      testTimeout: 180_000,
      hookTimeout: 180_000,
    },
  },
  {
    test: {
      ...brokerProject,
      name: 'harness',
      include: ['spec/harness/**/*.spec.ts'],
      testTimeout: 120_000,
      hookTimeout: 120_000,
    },
  },
  {
    test: {
      ...brokerProject,
      // rx-liftbridge/otel with the OTel SDK's in-memory exporters against a real node (spec/otel).
      name: 'otel',
      include: ['spec/otel/**/*.spec.ts'],
      testTimeout: 60_000,
      hookTimeout: 90_000,
    },
  },
  {
    test: {
      ...brokerProject,
      // The browser transport through a real grpcwebproxy (spec/browser, docs/angular.md).
      name: 'browser',
      include: ['spec/browser/**/*.spec.ts'],
      testTimeout: 120_000,
      hookTimeout: 180_000,
    },
  },
  {
    test: {
      ...brokerProject,
      // The rxlift command line spawned against a real node (spec/cli, issue 15).
      name: 'cli',
      include: ['spec/cli/**/*.spec.ts'],
      testTimeout: 120_000,
      hookTimeout: 90_000,
    },
  },
];

if (requested.some((p) => matches(p, 'chaos'))) {
  projects.push({
    test: {
      ...brokerProject,
      name: 'chaos',
      include: ['spec/chaos/**/*.spec.ts'],
      // The run's own budget (spec/chaos/chaos.spec.ts) decides; these only bound the hooks.
      testTimeout: 60 * 60_000,
      hookTimeout: 180_000,
    },
  });
}

if (includeCompat) {
  projects.push({
    test: {
      ...brokerProject,
      name: 'compat',
      include: ['spec/compat/**/*.spec.ts'],
      testTimeout: 60_000,
      hookTimeout: 90_000,
    },
  });
}

export default defineConfig({
  test: {
    projects,
    // Only `--project compat` with no compat specs written yet may pass with nothing to run.
    passWithNoTests: onlyCompat && !hasSpecFiles('spec/compat'),
    // Graceful server stops in afterAll can take a few seconds.
    teardownTimeout: 30_000,
  },
});
