/**
 * The published package as a user gets it (issue 12, item 3): build, `npm pack`, arethetypeswrong
 * and publint on the tarball, then the tarball installed into three throwaway projects (ESM with
 * NodeNext, CommonJS, TypeScript `moduleResolution: bundler` + esbuild) that import it,
 * type-check with the project's TypeScript and run a publish/subscribe round trip against a real
 * Liftbridge node. `npm run check:package` runs this file.
 *
 * The consumers install the tarball's dependencies with `--prefer-offline`: after `npm ci` they come
 * from npm's cache.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueName, useSingleNode } from '../support/broker.js';
import { buildAndPack } from '../support/pack.js';

const root = resolve(import.meta.dirname, '..', '..');
/** A dev dependency's binary; falls back to PATH when node_modules lacks it (a shared checkout). */
const bin = (name: string): string => {
  const local = join(root, 'node_modules', '.bin', name);
  return existsSync(local) ? local : name;
};

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Environment for child tools: no npm_* variables inherited from `npm test` (they would point
 * npm at this project), and the project's node_modules/.bin first on PATH. */
function childEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.toLowerCase().startsWith('npm_')) env[k] = v;
  env.PATH = [join(root, 'node_modules', '.bin'), process.env.PATH ?? ''].join(delimiter);
  env.NO_COLOR = '1';
  return { ...env, ...extra };
}

function run(cmd: string, args: readonly string[], cwd: string, extra: Record<string, string> = {}): Promise<Run> {
  return new Promise((done) => {
    execFile(cmd, args, { cwd, env: childEnv(extra), maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
      done({ code, stdout: String(stdout), stderr: String(stderr) + (error !== null && typeof error.code !== 'number' ? String(error) : '') });
    });
  });
}

/** Runs and fails with the tool's own output when it exits non-zero. */
async function ok(cmd: string, args: readonly string[], cwd: string, extra: Record<string, string> = {}): Promise<string> {
  const r = await run(cmd, args, cwd, extra);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** The round trip every consumer runs; `FLAVOUR` names the project in the published values. */
function roundTrip(flavour: string, resolveLine: string): string {
  return `import { connect, LiftbridgeError, StartAt, StopAt, type Message } from 'rx-liftbridge';
import { firstValueFrom, lastValueFrom, map, toArray } from 'rxjs';

async function main(): Promise<void> {
  const address = process.env.LIFTBRIDGE_ADDRESS;
  const stream = process.env.STREAM;
  if (address === undefined || stream === undefined) throw new Error('LIFTBRIDGE_ADDRESS and STREAM must be set');
  const lift = connect({ brokers: [address] });
  try {
    await firstValueFrom(lift.createStream({ name: stream, subject: 'pkg.' + stream }));
    const offsets: string[] = [];
    for (const v of ['a', 'b', 'c']) {
      const ack = await firstValueFrom(lift.publish(stream, '${flavour}-' + v));
      offsets.push(String(ack.offset));
    }
    const read = await lastValueFrom(
      lift.subscribe(stream, { startAt: StartAt.earliest(), stopAt: StopAt.latest() }).pipe(
        map((m: Message) => String(m.offset) + ':' + new TextDecoder().decode(m.value)),
        toArray(),
      ),
    );
    let deleteError = '';
    await firstValueFrom(lift.deleteStream(stream));
    try {
      await firstValueFrom(lift.deleteStream(stream));
    } catch (err) {
      deleteError = err instanceof LiftbridgeError ? err.code : 'not a LiftbridgeError';
    }
    console.log(JSON.stringify({ offsets, read, deleteError, resolved: ${resolveLine} }));
  } finally {
    await lift.close();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
`;
}

interface Flavour {
  readonly name: 'esm' | 'cjs' | 'bundler';
  readonly type: 'module' | 'commonjs';
  readonly compilerOptions: Record<string, unknown>;
  /** Expression (in the consumer) that says which file `rx-liftbridge` resolved to. */
  readonly resolveLine: string;
}

const flavours: readonly Flavour[] = [
  {
    name: 'esm',
    type: 'module',
    compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', rootDir: 'src', outDir: 'out' },
    resolveLine: "import.meta.resolve('rx-liftbridge') + ' ' + import.meta.resolve('rx-liftbridge/protos/liftbridge/api.proto')",
  },
  {
    name: 'cjs',
    type: 'commonjs',
    compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', rootDir: 'src', outDir: 'out' },
    resolveLine: "require.resolve('rx-liftbridge')",
  },
  {
    name: 'bundler',
    type: 'module',
    compilerOptions: { module: 'ESNext', moduleResolution: 'bundler', noEmit: true },
    resolveLine: "'bundled'",
  },
];

const broker = useSingleNode();
let work = '';
let tarball = '';
/** Files in the tarball, without the leading `package/`. */
let packed: string[] = [];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'rx-liftbridge-package-'));
  const pack = await buildAndPack(work);
  tarball = pack.tarball;
  packed = [...pack.files];
}, 180_000);

afterAll(() => {
  if (work !== '') rmSync(work, { recursive: true, force: true });
});

describe('the npm tarball', () => {
  it('ships the builds, LICENSE and protos, and no source maps or sources', () => {
    expect(existsSync(tarball)).toBe(true);
    for (const f of [
      'LICENSE',
      'README.md',
      'CHANGELOG.md',
      'package.json',
      'protos/liftbridge/api.proto',
      'dist/esm/index.js',
      'dist/esm/index.d.ts',
      'dist/cjs/index.js',
      'dist/cjs/index.d.ts',
      'dist/cjs/package.json',
      'dist/esm/browser/index.js',
      'dist/cjs/browser/index.js',
      'browser/package.json',
      'dist/esm/angular/index.js',
      'dist/cjs/angular/index.js',
      'angular/package.json',
    ]) {
      expect(packed).toContain(f);
    }
    // The rxlift bin (issue 15) is ESM only: commander 15 is an ES module.
    expect(packed).toContain('dist/esm/cli/main.js');
    expect(packed.filter((f) => f.startsWith('dist/cjs/cli/'))).toEqual([]);
    expect(packed.filter((f) => f.endsWith('.map'))).toEqual([]);
    expect(packed.filter((f) => f.startsWith('src/') || f.startsWith('spec/'))).toEqual([]);
    // The generated code keeps binary encode/decode only (buf.gen.yaml: outputJsonMethods=false).
    expect(packed.filter((f) => f.includes('generated'))).toContain('dist/esm/generated/liftbridge/api.js');
  });

  it('ships rx-liftbridge/nestjs (ESM and CJS) with optional peers, and nothing outside it loads NestJS', () => {
    for (const f of ['dist/esm/nestjs/index.js', 'dist/esm/nestjs/index.d.ts', 'dist/cjs/nestjs/index.js', 'dist/cjs/nestjs/index.d.ts'])
      expect(packed).toContain(f);
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { peerDependenciesMeta: Record<string, { optional?: boolean }> };
    for (const peer of ['@nestjs/common', '@nestjs/core', '@nestjs/microservices', 'reflect-metadata'])
      expect(pkg.peerDependenciesMeta[peer]?.optional).toBe(true);
    const framework = packed.filter(
      (f) => /^dist\/(esm|cjs)\/(?!nestjs\/).*\.js$/.test(f) && /@nestjs\/|reflect-metadata/.test(readFileSync(join(root, f), 'utf8')),
    );
    expect(framework).toEqual([]);
  });

  it('passes arethetypeswrong (node10, node16 from ESM and CJS, bundler)', async () => {
    const r = await run(bin('attw'), [tarball, '--format', 'json'], work);
    const report = JSON.parse(r.stdout) as { analysis: { problems: unknown[] } };
    expect(report.analysis.problems).toEqual([]);
    expect(r.code).toBe(0);
  }, 120_000);

  it('passes publint --strict', async () => {
    const r = await run(bin('publint'), ['run', tarball, '--strict'], work);
    expect(r.stdout + r.stderr).toContain('All good');
    expect(r.code).toBe(0);
  }, 120_000);
});

describe.each(flavours)('installed into a throwaway $name project', (flavour) => {
  it('type-checks and runs a publish/subscribe round trip against a real broker', async () => {
    const dir = join(work, flavour.name);
    mkdirSync(join(dir, 'src'), { recursive: true });
    writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: `consumer-${flavour.name}`, private: true, type: flavour.type })}\n`);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      `${JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          strict: true,
          // A user's own check of the package's .d.ts files, not only of their code.
          skipLibCheck: false,
          types: ['node'],
          typeRoots: [join(root, 'node_modules', '@types')],
          ...flavour.compilerOptions,
        },
        include: ['src'],
      })}\n`,
    );
    writeFileSync(join(dir, 'src', 'main.ts'), roundTrip(flavour.name, flavour.resolveLine));
    await ok('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--no-package-lock', tarball, 'rxjs@^7.8.0'], dir);
    // NestJS is an optional peer (rx-liftbridge/nestjs only): not installed, and the root entry runs without it.
    expect(existsSync(join(dir, 'node_modules', '@nestjs'))).toBe(false);

    await ok(bin('tsc'), ['-p', 'tsconfig.json'], dir);
    let entry = join(dir, 'out', 'main.js');
    if (flavour.name === 'bundler') {
      // Bundled as an application would be; the SDK's dependencies stay external, the SDK itself
      // is resolved and inlined by the bundler (the `import` condition, ESM build).
      entry = join(dir, 'out', 'bundle.mjs');
      await ok(
        bin('esbuild'),
        [
          'src/main.ts',
          '--bundle',
          '--platform=node',
          '--format=esm',
          `--outfile=${entry}`,
          '--external:rxjs',
          '--external:@grpc/grpc-js',
          '--external:nice-grpc',
          '--external:nice-grpc-common',
          '--external:@bufbuild/protobuf',
        ],
        dir,
      );
    }

    const stream = uniqueName(`pkg-${flavour.name}`);
    const out = await ok(process.execPath, [entry], dir, { LIFTBRIDGE_ADDRESS: broker.address, STREAM: stream });
    const result = JSON.parse(out.trim().split('\n').at(-1)!) as { offsets: string[]; read: string[]; deleteError: string; resolved: string };
    expect(result.offsets).toEqual(['0', '1', '2']);
    expect(result.read).toEqual([`0:${flavour.name}-a`, `1:${flavour.name}-b`, `2:${flavour.name}-c`]);
    expect(result.deleteError).toBe('NO_SUCH_STREAM');
    if (flavour.name === 'esm') {
      // The bin from the installed tarball, as `npx rxlift` runs it.
      expect(await ok('npx', ['--no', '--', 'rxlift', '--help'], dir)).toMatch(/^Usage: rxlift \[options\] \[command\]/);
      const listed = JSON.parse(await ok('npx', ['--no', '--', 'rxlift', '--brokers', broker.address, '--json', 'streams', 'list'], dir)) as { name: string }[];
      expect(listed.map((s) => s.name)).toContain('__cursors');
      expect(result.resolved).toMatch(/node_modules\/rx-liftbridge\/dist\/esm\/index\.js /);
      expect(result.resolved).toMatch(/node_modules\/rx-liftbridge\/protos\/liftbridge\/api\.proto$/);
    } else if (flavour.name === 'cjs') {
      expect(result.resolved).toMatch(/node_modules\/rx-liftbridge\/dist\/cjs\/index\.js$/);
    }
  }, 180_000);
});
