import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';

const packageDir = new URL('..', import.meta.url).pathname;
const vitestBin = join(
  dirname(createRequire(import.meta.url).resolve('vitest/package.json')),
  'vitest.mjs',
);

function runBrokenSuite(defect: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [vitestBin, 'run', '--config', 'test/broken/vitest.config.ts', '--reporter', 'verbose'],
      { cwd: packageDir, env: { ...process.env, BROKEN: defect }, maxBuffer: 16 << 20 },
      (error, stdout, stderr) =>
        resolve({ code: error ? (error.code as number) : 0, output: stdout + stderr }),
    );
  });
}

// A suite that passes a broken backend proves nothing: these run it against three and expect failures.
describe('the conformance suite bites', () => {
  it('fails a backend that drops every 1000th message', async () => {
    const { code, output } = await runBrokenSuite('drop');
    expect(code).not.toBe(0);
    expect(output).toMatch(/×.*keeps per-stream order for un-awaited sends/);
  }, 120_000);

  it('fails a backend that delivers out of order', async () => {
    const { code, output } = await runBrokenSuite('reorder');
    expect(code).not.toBe(0);
    expect(output).toMatch(/×.*(per-stream order|each in order|not starved)/);
  }, 120_000);

  it('fails a backend whose manifest is not frozen and says less than it does', async () => {
    const { code, output } = await runBrokenSuite('manifest');
    expect(code).not.toBe(0);
    expect(output).toMatch(/×.*streamer\.supports names every capability/);
    expect(output).toMatch(/×.*without seek: seek\(\) rejects UNSUPPORTED/);
  }, 120_000);
});
