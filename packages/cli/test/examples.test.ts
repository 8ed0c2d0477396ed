import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';

const temp = tempDir();
afterAll(() => temp.remove());
const env = { ...process.env, STREAMER_URL: temp.url('examples.ss') };

function example(
  name: string,
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const path = fileURLToPath(new URL(`../../../examples/${name}`, import.meta.url));
  return new Promise((resolve) => {
    execFile(process.execPath, [path, ...args], { env }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

// The examples on a fresh file (the Redis stream names are fixed, so they are not run on the shared server).
describe('examples/', () => {
  it('producer, consumer, processor, resumable and load-balanced run in order on one file', async () => {
    const produced = await example('producer.mjs', '6');
    expect(produced.code).toBe(0);
    expect(produced.stderr).toContain('sent 6 orders');
    const consumed = await example('consumer.mjs', '6');
    expect(consumed.stdout.trim().split('\n')).toHaveLength(6);
    expect(consumed.stdout).toMatch(/^#1 at .*: 1 x tea$/m);
    const processed = await example('processor.mjs', '6');
    expect(processed.stderr).toMatch(/invoiced order .*: 2.5$/m);
    const first = await example('resumable.mjs', '4');
    const second = await example('resumable.mjs', '4');
    expect(first.stdout.match(/#\d+/g)).toEqual(['#1', '#2', '#3', '#4']);
    expect(second.stdout.match(/#\d+/g)).toEqual(['#5', '#6']); // went on where the first stopped
    const balanced = await example('load-balanced.mjs', '12');
    expect(balanced.code).toBe(0);
    expect(balanced.stdout).toMatch(/all 12 jobs done: a did 3, b did 9/);
  });
});
