import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { REDIS_URL } from './helpers.js';

const DEMO = fileURLToPath(new URL('../../../examples/demo.mjs', import.meta.url));

function demo(
  env: Record<string, string>,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { STREAMER_URL: _, ...rest } = process.env;
  return new Promise((resolve) => {
    execFile(process.execPath, [DEMO], { env: { ...rest, ...env } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

function checkSummary(stdout: string, backend: string) {
  expect(stdout).toContain(`streamer demo on ${backend} `);
  expect(stdout).toMatch(/^ {2}reading {3}0 {2}s1 {2}20\.0 °C -> 68\.0 °F {2}-> w[12]$/m);
  const summary =
    /^summary: (\d+) messages through 3 stages in [\d.]+ s \(\d+ msg\/s\), (\d+) alerts$/m.exec(
      stdout,
    );
  expect(summary?.[1]).toBe('60');
  const workers = [...stdout.matchAll(/^ {2}worker (w[12]): (\d+) messages$/gm)].map((m) =>
    Number(m[2]),
  );
  expect(workers).toHaveLength(2);
  expect(workers[0] + workers[1]).toBe(60);
  expect(Math.min(...workers)).toBeGreaterThan(0);
}

describe('pnpm demo (examples/demo.mjs)', () => {
  it('runs on a file in a temp folder by default, and ends with a summary', async () => {
    const run = await demo({ DEMO_MESSAGES: '60' });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    checkSummary(run.stdout, 'file');
  });

  it('runs the same code on Redis with STREAMER_URL', async () => {
    const run = await demo({ DEMO_MESSAGES: '60', STREAMER_URL: REDIS_URL });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    checkSummary(run.stdout, 'redis');
  });
});
