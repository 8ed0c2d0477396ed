import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createClient } from '@redis/client';

export const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built `streamer` binary as a child process, with `input` on its stdin. */
export function streamer(
  args: string[],
  input: string | Buffer = '',
  env = {},
  cwd?: string,
): Promise<Run> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin.on('error', () => {}); // a command that exits early closes its stdin
  child.stdin.end(input);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export const lines = (text: string) => text.split('\n').filter((line) => line !== '');

let counter = 0;
/** A stream key no other test or run uses. */
export const freshKey = (tag: string) =>
  `cli-${tag}-${Date.now().toString(36)}-${process.pid}-${++counter}`;

/** A temp folder, removed by the returned function. */
export function tempDir(): { dir: string; url: (name: string) => string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'streamer-cli-'));
  return {
    dir,
    url: (name) => pathToFileURL(join(dir, name)).href,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Deletes test keys (and their shard keys) from the shared Redis. */
export async function deleteKeys(keys: string[]): Promise<void> {
  if (keys.length === 0) return;
  const client = createClient({ url: REDIS_URL });
  await client.connect();
  try {
    for (const key of keys) {
      const shards = await client.keys(`${key}:*`);
      await client.del([key, ...shards]);
    }
  } finally {
    client.destroy();
  }
}
