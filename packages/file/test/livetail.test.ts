import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { backend } from '../src/index.js';
import { tempDir, tempFile } from './helpers.js';

const dir = tempDir('livetail');
const script = fileURLToPath(new URL('./child/tail.mjs', import.meta.url));
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill();
      await exited;
    }
  }
});

/** Starts the child consumer; resolves with a line reader once it is tailing. */
async function startTail(path: string, watch: boolean) {
  if (!existsSync(new URL('../dist/index.js', import.meta.url))) {
    throw new Error('The live-tail test runs the built package: run "npx tsc -b" in packages/file');
  }
  const child = spawn(process.execPath, [script, path, String(watch)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const lines: string[] = [];
  let stderr = '';
  let notify = () => {};
  let buffered = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop()!;
    lines.push(...parts);
    notify();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const until = (n: number) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (lines.length >= n) resolve();
        else if (child.exitCode !== null) reject(new Error(`child exited: ${stderr}`));
      };
      notify = check;
      child.once('exit', check);
      check();
    });
  await until(1);
  expect(lines[0]).toBe('ready');
  return { lines, until };
}

describe('live tail in another process', () => {
  for (const watch of [true, false]) {
    it(`sees appended messages ${watch ? 'with fs.watch' : 'by polling alone (watch: false)'}`, async () => {
      const path = tempFile(dir, 'live');
      const streamer = await backend.connect([pathToFileURL(path)], { createIfNotExists: true });
      try {
        const producer = await streamer.createProducer('live');
        await producer.send('before the consumer started');
        const tail = await startTail(path, watch);
        const sentAt: number[] = [];
        for (let i = 0; i < 5; i++) {
          sentAt.push(Date.now());
          await producer.send(`m${i}`);
          await tail.until(2 + i); // one at a time: each is seen before the next is sent
        }
        const got = tail.lines.slice(1).map((line) => line.split(' '));
        expect(got.map(([text]) => text)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
        // Latency is reported, not asserted (timing belongs in benchmarks).
        const latency = got.map(([, at], i) => Number(at) - sentAt[i]);
        console.log(`live tail (watch: ${watch}) latency ms: ${latency.join(', ')}`);
      } finally {
        await streamer.disconnect();
      }
    });
  }
});
