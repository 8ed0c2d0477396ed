import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
// pnpm's bin shims set NODE_PATH into this workspace; the apps must see only what they installed.
const { NODE_PATH: _, ...cleanEnv } = process.env;
const coreDir = new URL('..', import.meta.url).pathname;
const fileDir = new URL('../../file', import.meta.url).pathname;

// connect() imports backends by name from inside core. Under npm's flat layout core can see the
// app's packages; under pnpm's strict layout it cannot. Both are checked on real installs of the
// packed tarballs, the way users get them.
describe('connect() in an installed app', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'streamer-pack-'));
    // Packs the built packages: `pnpm test` builds everything first.
    await run('pnpm', ['pack', '--pack-destination', dir], { cwd: coreDir });
    await run('pnpm', ['pack', '--pack-destination', dir], { cwd: fileDir });
    const backend = join(dir, 'backend');
    await mkdir(backend);
    await writeFile(
      join(backend, 'package.json'),
      JSON.stringify({
        name: 'streamer-fixture-backend',
        version: '1.0.0',
        type: 'module',
        exports: './index.js',
      }),
    );
    await writeFile(
      join(backend, 'index.js'),
      "export const backend = { async connect(urls) { return { backend: 'fixture', url: String(urls[0]) }; } };\n",
    );
    await run('npm', ['pack', '--pack-destination', dir], { cwd: backend });
    const tarballs = await readdir(dir);
    const core = tarballs.find((f) => f.startsWith('streamer-core-'))!;
    const fixture = tarballs.find((f) => f.startsWith('streamer-fixture-backend-'))!;
    const file = tarballs.find((f) => f.startsWith('streamer-file-'))!;
    for (const layout of ['npm', 'pnpm']) {
      const app = join(dir, layout);
      await mkdir(app);
      await writeFile(
        join(app, 'package.json'),
        JSON.stringify({
          name: `app-${layout}`,
          private: true,
          type: 'module',
          dependencies: {
            '@streamer/core': `file:../${core}`,
            '@streamer/file': `file:../${file}`,
            'streamer-fixture-backend': `file:../${fixture}`,
          },
          // @streamer/file depends on @streamer/core 0.0.0: this tarball, not the registry's.
          overrides: { '@streamer/core': '$@streamer/core' },
        }),
      );
      if (layout === 'pnpm') {
        await writeFile(
          join(app, 'pnpm-workspace.yaml'),
          `overrides:\n  "@streamer/core": "file:../${core}"\n`,
        );
      }
      await writeFile(
        join(app, 'main.js'),
        `import { connect, registerBackend } from '@streamer/core';
registerBackend('fixture', 'streamer-fixture-backend');
const found = await connect('fixture://host:1');
const streamer = await connect(new URL('log.ss', import.meta.url), { createIfNotExists: true });
const producer = await streamer.createProducer('k');
await producer.send('hello');
const consumer = await streamer.createConsumer('k', { start: 'earliest' });
const file = { backend: streamer.backend, text: (await consumer.next()).text() };
await streamer.disconnect();
const missing = await connect('stdio://').catch((e) => ({ code: e.code, message: e.message }));
console.log(JSON.stringify({ found, file, missing }));
`,
      );
    }
    await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], {
      cwd: join(dir, 'npm'),
    });
    await run('pnpm', ['install', '--prefer-offline', '--config.hoist=false'], {
      cwd: join(dir, 'pnpm'),
    });
  }, 180_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const layout of ['npm', 'pnpm']) {
    it(`finds a backend the app installed, and names a missing one (${layout} layout)`, async () => {
      if (layout === 'pnpm') {
        // The layout that makes this hard: core lives in .pnpm/, away from the app's packages, and
        // nothing is hoisted where core could stumble on them.
        expect(await readdir(join(dir, 'pnpm', 'node_modules', '.pnpm'))).toContainEqual(
          expect.stringContaining('streamer+core'),
        );
      }
      const { stdout } = await run('node', ['main.js'], { cwd: join(dir, layout), env: cleanEnv });
      const result = JSON.parse(stdout);
      expect(result.found).toEqual({ backend: 'fixture', url: 'fixture://host:1' });
      expect(result.file).toEqual({ backend: 'file', text: 'hello' });
      expect(result.missing.code).toBe('BACKEND_NOT_INSTALLED');
      expect(result.missing.message).toContain('npm install @streamer/stdio');
    });
  }
});
