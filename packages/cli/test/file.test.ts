import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { readMessages } from '@streamer/file';
import { parseLine } from '@streamer/stdio';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, lines, streamer, tempDir } from './helpers.js';

const temp = tempDir();
afterAll(() => temp.remove());

describe('streamer on file://', () => {
  it('produce writes stdin lines; consume prints them as stdio lines, ndjson or raw', async () => {
    const url = `${temp.url('basic.ss')}/orders`;
    const produced = await streamer(['produce', url], 'one\ntwo words\n{"n":3}\n');
    expect(produced).toMatchObject({ code: 0, stderr: '' });
    const log = await streamer(['consume', url, '--earliest', '--no-follow']);
    expect(log.code).toBe(0);
    const parsed = lines(log.stdout).map(parseLine);
    expect(parsed.map((m) => [m.streamKey, m.sequence, m.payload])).toEqual([
      ['orders', 1n, 'one'],
      ['orders', 2n, 'two words'],
      ['orders', 3n, '{"n":3}'],
    ]);
    const ndjson = await streamer([
      'consume',
      url,
      '--earliest',
      '--no-follow',
      '--format',
      'ndjson',
    ]);
    expect(lines(ndjson.stdout).map((l) => JSON.parse(l))).toMatchObject([
      { stream: 'orders', shard: 0, sequence: '1', payload: 'one' },
      { sequence: '2', payload: 'two words' },
      { sequence: '3', payload: '{"n":3}' },
    ]);
    const raw = await streamer(['consume', url, '--earliest', '--count', '2', '--format', 'raw']);
    expect(raw).toMatchObject({ code: 0, stdout: 'one\ntwo words\n' });
  });

  it('consume --since/--until select by time; --count stops', async () => {
    const url = `${temp.url('times.ss')}/t`;
    const input = [
      '[2024-01-01T00:00:00] early',
      '[2024-01-02T00:00:00] middle',
      '[2024-01-03T00:00:00] late',
    ].join('\n');
    expect((await streamer(['produce', url, '--format', 'log'], input)).code).toBe(0);
    const run = await streamer([
      'consume',
      url,
      '--since',
      '2024-01-02',
      '--until',
      '2024-01-02T12:00:00Z',
      '--no-follow',
      '--format',
      'raw',
    ]);
    expect(run).toMatchObject({ code: 0, stdout: 'middle\n' });
  });

  it('produce --format log keeps stream keys, timestamps and shards of stdio lines', async () => {
    const file = temp.url('log.ss');
    const input =
      '[2022-01-01T00:00:00.250 | a | 7 | 1] from a\n[b] from b\nbare goes to the URL stream\n';
    const produced = await streamer(['produce', `${file}/main`, '--format', 'log'], input);
    expect(produced).toMatchObject({ code: 0, stderr: '' });
    const all = await streamer([
      'consume',
      `${file}/`,
      '--earliest',
      '--no-follow',
      '--format',
      'ndjson',
    ]);
    const got = lines(all.stdout).map((l) => JSON.parse(l));
    expect(got.map((m) => [m.stream, m.shard, m.payload])).toEqual([
      ['a', 1, 'from a'],
      ['b', 0, 'from b'],
      ['main', 0, 'bare goes to the URL stream'],
    ]);
    expect(got[0].timestamp).toBe('2022-01-01T00:00:00.250Z');
  });

  it('produce --format log reports a malformed line, sends the rest and exits 1', async () => {
    const url = `${temp.url('bad-lines.ss')}/k`;
    const run = await streamer(
      ['produce', url, '--format', 'log'],
      'good\n[k | nope] bad\nalso good\n',
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('CORRUPT_DATA: Malformed line "[k | nope] bad"');
    expect(run.stderr).toContain('1 malformed line(s) were not sent');
    const back = await streamer(['consume', url, '--earliest', '--no-follow', '--format', 'raw']);
    expect(back.stdout).toBe('good\nalso good\n');
  });

  it('clock sends numbered ticks', async () => {
    const url = `${temp.url('clock.ss')}/ticks`;
    expect((await streamer(['clock', url, '--interval', '5ms', '--count', '3'])).code).toBe(0);
    const run = await streamer(['consume', url, '--earliest', '--no-follow', '--format', 'raw']);
    expect(lines(run.stdout).map((l) => JSON.parse(l).tick)).toEqual([0, 1, 2]);
  });

  it('decode prints the header and the messages of a .ss file', async () => {
    const url = `${temp.url('decode.ss')}/d`;
    await streamer(['produce', url], 'x\ny\n');
    const path = join(temp.dir, 'decode.ss');
    const header = await streamer(['decode', path, '--header-only', '--format', 'ndjson']);
    expect(JSON.parse(header.stdout)).toMatchObject({ fileName: 'decode.ss', version: 1 });
    const log = await streamer(['decode', temp.url('decode.ss')]);
    expect(lines(log.stdout).map((l) => parseLine(l).payload)).toEqual(['x', 'y']);
  });

  it('decode of a missing or damaged file exits 1 with one line', async () => {
    const missing = await streamer(['decode', join(temp.dir, 'missing.ss')]);
    expect(missing.code).toBe(1);
    expect(lines(missing.stderr)).toHaveLength(1);
    expect(missing.stderr).toContain('missing.ss');
    const garbage = join(temp.dir, 'garbage.ss');
    writeFileSync(garbage, 'this is not a SeaStreamer file'.repeat(10));
    const damaged = await streamer(['decode', garbage]);
    expect(damaged.code).toBe(1);
    expect(damaged.stderr).toMatch(/^streamer: CORRUPT_DATA: /);
  });

  it('decode --resync reads on after damage, reports it and exits 1', async () => {
    const path = join(temp.dir, 'resync.ss');
    await streamer(['produce', `${temp.url('resync.ss')}/r`], 'one\ntwo\n');
    const bytes = readFileSync(path);
    bytes[bytes.indexOf('one') + 1] ^= 0xff; // the first payload no longer matches its checksum
    writeFileSync(path, bytes);
    const run = await streamer(['decode', path, '--resync']);
    expect(run.code).toBe(1);
    expect(lines(run.stderr)).toEqual([
      expect.stringMatching(/^streamer: CORRUPT_DATA: .*checksum mismatch/),
      `streamer: CORRUPT_DATA: ${path}: 1 damaged region(s) skipped (see above)`,
    ]);
  });

  it('info counts the streams and shards of a file', async () => {
    const file = temp.url('info.ss');
    await streamer(['produce', `${file}/a`], '1\n2\n');
    await streamer(['produce', `${file}/b`, '--shard', '3'], '1\n');
    const run = await streamer(['info', file, '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject([
      { stream: 'a', length: 2, shards: [{ shard: 0, length: 2 }] },
      { stream: 'b', length: 1, shards: [{ shard: 3, length: 1 }] },
    ]);
  });

  it('decode and info take relative file://./ URLs, and info a URL ending in /', async () => {
    const file = temp.url('relative.ss');
    await streamer(['produce', `${file}/a`], '1\n2\n');
    const relative = 'file://./relative.ss';
    const decoded = await streamer(['decode', relative], '', {}, temp.dir);
    expect(decoded).toMatchObject({ code: 0, stderr: '' });
    expect(lines(decoded.stdout).map((l) => parseLine(l).payload)).toEqual(['1', '2']);
    for (const url of [relative, `${relative}/`, `${file}/`]) {
      const run = await streamer(['info', url, '--json'], '', {}, temp.dir);
      expect(run).toMatchObject({ code: 0, stderr: '' });
      expect(JSON.parse(run.stdout)).toMatchObject([{ stream: 'a', length: 2 }]);
    }
    for (const missing of [temp.url('missing.ss'), `${temp.url('missing.ss')}/a`]) {
      const run = await streamer(['info', missing]);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^streamer: STREAM_NOT_FOUND: .*missing\.ss: ENOENT/);
    }
    const badHost = await streamer(['decode', 'file://elsewhere/x.ss']);
    expect(badHost.code).toBe(2);
    expect(badHost.stderr).toMatch(/^streamer: INVALID_URL: .*"elsewhere"/);
  });

  it('Ctrl-C stops produce cleanly: what it read is stored, exit 0', async () => {
    const path = join(temp.dir, 'sigint.ss');
    const child = spawn(process.execPath, [BIN, 'produce', `${temp.url('sigint.ss')}/s`], {
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const closed = new Promise((resolve) => child.on('close', resolve));
    const stored = async () => {
      const payloads: string[] = [];
      try {
        for await (const m of readMessages(path)) payloads.push(m.text());
      } catch {} // not there yet, or a message half written
      return payloads;
    };
    child.stdin.write('one\n'); // and stdin stays open
    while ((await stored()).length === 0) await sleep(20);
    child.kill('SIGINT');
    expect({ code: await closed, stderr }).toEqual({ code: 0, stderr: '' });
    expect(await stored()).toEqual(['one']);
    child.stdin.destroy();
  });

  it('trim refuses a file with UNSUPPORTED', async () => {
    const url = `${temp.url('trim.ss')}/k`;
    await streamer(['produce', url], 'x\n');
    const run = await streamer(['trim', url, '--max-len', '1']);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      'streamer: UNSUPPORTED: trim works on redis:// streams only, not on file://\n',
    );
  });
});
