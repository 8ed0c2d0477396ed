import { spawn } from 'node:child_process';
import { parseLine } from '@streamer/stdio';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, lines, streamer, tempDir } from './helpers.js';

const temp = tempDir();
afterAll(() => temp.remove());

/** Runs `sh -c script` with the binary as $STREAMER. */
function shell(script: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn('sh', ['-c', script], {
    env: { ...process.env, STREAMER: `${process.execPath} ${BIN}` },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('streamer on stdio://', () => {
  it('produce stdio:// turns stdin lines into stdio lines on stdout', async () => {
    const run = await streamer(['produce', 'stdio:///events'], 'hello\nworld\n');
    expect(run.code).toBe(0);
    expect(lines(run.stdout).map(parseLine)).toMatchObject([
      { streamKey: 'events', sequence: 0n, payload: 'hello' },
      { streamKey: 'events', sequence: 1n, payload: 'world' },
    ]);
  });

  it('consume stdio:// reads its streams and broadcast from stdin, and reports bad lines', async () => {
    const input = '[a] for a\n[b] for b\nfor everyone\n[a | x] bad\n[a] again\n';
    const run = await streamer(['consume', 'stdio:///a', '--format', 'raw'], input);
    expect(run).toMatchObject({ code: 0, stdout: 'for a\nfor everyone\nagain\n' });
    expect(run.stderr).toContain('CORRUPT_DATA: stdin line 4');
  });

  it('produce | consume through a unix pipe', async () => {
    const run = await shell(
      `printf 'one\\ntwo\\n' | $STREAMER produce stdio:///k | $STREAMER consume stdio:///k --format ndjson`,
    );
    expect(run.code).toBe(0);
    expect(lines(run.stdout).map((l) => JSON.parse(l))).toMatchObject([
      { stream: 'k', sequence: '0', payload: 'one' },
      { stream: 'k', sequence: '1', payload: 'two' },
    ]);
  });

  it('relay stdio:// into a file, then consume the file into stdio lines again', async () => {
    const file = temp.url('from-stdio.ss');
    const relayed = await streamer(
      ['relay', 'stdio:///x,y', `${file}/`],
      '[x] 1\n[y] 2\n[z] skipped\n',
    );
    expect(relayed).toMatchObject({ code: 0, stderr: '' });
    const run = await streamer(['consume', `${file}/`, '--earliest', '--no-follow']);
    expect(lines(run.stdout).map((l) => [parseLine(l).streamKey, parseLine(l).payload])).toEqual([
      ['x', '1'],
      ['y', '2'],
    ]);
  });

  it('a reader that goes away (| head -1) ends consume quietly with exit 0', async () => {
    const url = `${temp.url('many.ss')}/m`;
    await streamer(
      ['produce', url],
      `${Array.from({ length: 20000 }, (_, i) => `line ${i}`).join('\n')}\n`,
    );
    const run = await shell(
      `( $STREAMER consume ${url} --earliest --no-follow --format raw; echo "consume=$?" >&2 ) | head -1`,
    );
    expect(run.stdout).toBe('line 0\n');
    expect(run.stderr).toBe('consume=0\n'); // no EPIPE error, no stack
  });

  it('a reader that goes away ends producing commands on stdio:// quietly with exit 0', async () => {
    const run = await shell(
      '( $STREAMER clock stdio:///c --interval 1ms; echo "clock=$?" >&2 ) | head -1; ' +
        '( yes | head -50000 | $STREAMER produce stdio:///p; echo "produce=$?" >&2 ) | head -1',
    );
    expect(lines(run.stdout).map((l) => parseLine(l).streamKey)).toEqual(['c', 'p']);
    expect(run.stderr).toBe('clock=0\nproduce=0\n');
  });
});
