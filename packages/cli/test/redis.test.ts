import { execFileSync, spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseLine } from '@streamer/stdio';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, deleteKeys, freshKey, lines, REDIS_URL, streamer, tempDir } from './helpers.js';

const keys: string[] = [];
const key = (tag: string) => {
  const k = freshKey(tag);
  keys.push(k);
  return k;
};
const temp = tempDir();
/** script(1) (util-linux) runs a command on a pseudo-terminal; without it the TTY test cannot run. */
const hasScript = (() => {
  try {
    execFileSync('script', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
afterAll(async () => {
  temp.remove();
  await deleteKeys(keys);
});

describe('streamer on redis://', () => {
  it('produce then consume --earliest --count', async () => {
    const url = `${REDIS_URL}/${key('basic')}`;
    expect(await streamer(['produce', url], 'a\nb\nc\n')).toMatchObject({ code: 0, stderr: '' });
    const run = await streamer(['consume', url, '--earliest', '--count', '3', '--format', 'raw']);
    expect(run).toMatchObject({ code: 0, stdout: 'a\nb\nc\n' });
  });

  it('a resumable group picks up where the last run stopped', async () => {
    const url = `${REDIS_URL}/${key('resume')}`;
    await streamer(['produce', url], 'm0\nm1\nm2\nm3\n');
    const group = ['--mode', 'resumable', '--group', 'g', '--earliest', '--format', 'raw'];
    expect((await streamer(['consume', url, ...group, '--count', '2'])).stdout).toBe('m0\nm1\n');
    expect((await streamer(['consume', url, ...group, '--count', '2'])).stdout).toBe('m2\nm3\n');
  });

  it('relay copies file:// to redis:// and back, keeping the payloads', async () => {
    const source = `${temp.url('relay-in.ss')}/src`;
    await streamer(['produce', source], 'r0\nr1\nr2\n');
    const target = `${REDIS_URL}/${key('relay')}`;
    const there = await streamer(['relay', source, target, '--earliest', '--no-follow']);
    expect(there).toMatchObject({ code: 0, stderr: '' });
    const back = `${temp.url('relay-out.ss')}/copy`;
    // --offset start is the old spelling of --earliest, kept as an alias.
    expect(
      (await streamer(['relay', target, back, '--offset', 'start', '--count', '3'])).code,
    ).toBe(0);
    const run = await streamer(['consume', back, '--earliest', '--no-follow', '--format', 'raw']);
    expect(run.stdout).toBe('r0\nr1\nr2\n');
  });

  it('consume --no-follow prints what every shard held at the start, then exits', async () => {
    const [a, b] = [key('nofollow-a'), key('nofollow-b')];
    await streamer(['produce', `${REDIS_URL}/${a}`, '--shards', '3'], 'a0\na1\na2\na3\na4\n');
    await streamer(['produce', `${REDIS_URL}/${b}`], 'b0\nb1\n');
    const url = `${REDIS_URL}/${a},${b}`;
    const run = await streamer(['consume', url, '--earliest', '--no-follow', '--format', 'raw']);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(lines(run.stdout).sort()).toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 'b0', 'b1']);
    // Nothing new is read: --latest prints nothing, and a missing stream holds nothing.
    const latest = await streamer(['consume', url, '--latest', '--no-follow']);
    expect(latest).toMatchObject({ code: 0, stdout: '' });
    const missing = await streamer([
      'consume',
      `${REDIS_URL}/${key('none')}`,
      '--earliest',
      '--no-follow',
    ]);
    expect(missing).toMatchObject({ code: 0, stdout: '' });
  });

  it('consume and relay --no-follow end while another process keeps writing', async () => {
    const name = key('nofollow-live');
    const url = `${REDIS_URL}/${name}`;
    const clock = spawn(process.execPath, [BIN, 'clock', url, '--interval', '10ms'], {
      stdio: 'ignore',
    });
    try {
      await streamer(['consume', url, '--earliest', '--count', '3']); // three are stored
      const run = await streamer([
        'consume',
        url,
        '--earliest',
        '--no-follow',
        '--format',
        'ndjson',
      ]);
      expect(run.code).toBe(0);
      const ticks = lines(run.stdout).map((l) => JSON.parse(JSON.parse(l).payload).tick);
      expect(ticks.length).toBeGreaterThanOrEqual(3);
      expect(ticks).toEqual(ticks.map((_, i) => ticks[0] + i)); // in order, none missing
      const copy = `${temp.url('nofollow.ss')}/copy`;
      expect(await streamer(['relay', url, copy, '--earliest', '--no-follow'])).toMatchObject({
        code: 0,
        stderr: '',
      });
      const copied = await streamer(['consume', copy, '--earliest', '--no-follow']);
      expect(lines(copied.stdout).length).toBeGreaterThanOrEqual(ticks.length);
    } finally {
      clock.kill();
    }
  });

  it('--no-follow on redis:// refuses group modes (exit 2): no member sees every entry', async () => {
    const url = `${REDIS_URL}/${key('nofollow-group')}`;
    const run = await streamer(['consume', url, '--mode', 'loadBalanced', '--no-follow']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--no-follow on redis:// reads in realtime mode only');
  });

  it('consume follows live messages from another process (clock)', async () => {
    const url = `${REDIS_URL}/${key('live')}`;
    const consumer = streamer(['consume', url, '--count', '2', '--format', 'ndjson']);
    // The consumer starts at 'latest': keep ticking until it has had two.
    const clock = spawn(
      process.execPath,
      [BIN, 'clock', url, '--interval', '50ms', '--count', '400'],
      {
        stdio: 'ignore',
      },
    );
    const run = await consumer;
    clock.kill();
    expect(run.code).toBe(0);
    const ticks = lines(run.stdout).map((l) => JSON.parse(JSON.parse(l).payload).tick);
    expect(ticks).toHaveLength(2);
    expect(ticks[1]).toBe(ticks[0] + 1);
  });

  it('Ctrl-C stops consume cleanly: exit 0, and a group commits what was printed', async () => {
    const url = `${REDIS_URL}/${key('sigint')}`;
    await streamer(['produce', url], 'one\ntwo\n');
    const group = ['--mode', 'resumable', '--group', 'g', '--earliest', '--format', 'raw'];
    const child = spawn(process.execPath, [BIN, 'consume', url, ...group], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    await new Promise<void>((resolve) =>
      child.stdout.on('data', (d) => {
        stdout += d;
        if (stdout === 'one\ntwo\n') resolve();
      }),
    );
    child.kill('SIGINT'); // it is waiting for more
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    await streamer(['produce', url], 'three\n');
    const next = await streamer(['consume', url, ...group, '--count', '1']);
    expect(next.stdout).toBe('three\n');
  });

  it('info shows length, shards and groups with pending', async () => {
    const name = key('info');
    const url = `${REDIS_URL}/${name}`;
    await streamer(['produce', url], 'x\ny\nz\n');
    await streamer([
      'consume',
      url,
      '--mode',
      'loadBalanced',
      '--group',
      'workers',
      '--earliest',
      '--count',
      '1',
    ]);
    const text = await streamer(['info', url]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`${name}: 3 messages in 1 shard(s)`);
    expect(text.stdout).toMatch(/group workers: 1 consumer\(s\), \d+ pending/);
    const json = await streamer(['info', url, '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject([
      {
        stream: name,
        length: 3,
        shards: [{ shard: 0, key: name, length: 3 }],
        groups: [{ name: 'workers' }],
      },
    ]);
  });

  it('trim --max-len keeps the newest messages', async () => {
    const url = `${REDIS_URL}/${key('trim')}`;
    await streamer(['produce', url], '1\n2\n3\n4\n5\n');
    const run = await streamer(['trim', url, '--max-len', '2', '--exact']);
    expect(run.stdout).toMatch(/: removed 3\n$/);
    const rest = await streamer(['consume', url, '--earliest', '--count', '2', '--format', 'raw']);
    expect(rest.stdout).toBe('4\n5\n');
  });

  it('dump copies streams into a .ss file in time order, with a summary line off a TTY', async () => {
    const [a, b] = [key('dump-a'), key('dump-b')];
    // Interleave the two streams in time.
    for (let i = 0; i < 3; i++) {
      await streamer(['produce', `${REDIS_URL}/${a}`], `a${i}\n`);
      await streamer(['produce', `${REDIS_URL}/${b}`], `b${i}\n`);
    }
    const out = join(temp.dir, 'dump.ss');
    const run = await streamer(['dump', `${REDIS_URL}/${a},${b}`, '--output', out]);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe(`dump: wrote 6 messages (12 B) from 2 stream(s) to ${out}\n`);
    const decoded = lines((await streamer(['decode', out])).stdout).map(parseLine);
    expect(decoded.map((m) => m.payload)).toEqual(['a0', 'b0', 'a1', 'b1', 'a2', 'b2']);
    expect(decoded.map((m) => m.streamKey)).toEqual([a, b, a, b, a, b]);
    const again = await streamer(['dump', `${REDIS_URL}/${a}`, '--output', out]);
    expect(again.code).toBe(1); // never overwrites
    expect(lines(again.stderr)).toHaveLength(1);
    const typo = await streamer([
      'dump',
      `${REDIS_URL}/${a},${a}-typo`,
      '-o',
      join(temp.dir, 't.ss'),
    ]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain(`stream "${a}-typo" does not exist`);
    expect(existsSync(join(temp.dir, 't.ss'))).toBe(false);
  });

  it('dump --since/--until take a time range', async () => {
    const name = key('dump-range');
    await streamer(['produce', `${REDIS_URL}/${name}`], 'old\n');
    const cut = new Date(Date.now() + 5).toISOString();
    await new Promise((resolve) => setTimeout(resolve, 20));
    await streamer(['produce', `${REDIS_URL}/${name}`], 'new\n');
    const out = join(temp.dir, 'range.ss');
    await streamer(['dump', `${REDIS_URL}/${name}`, '-o', out, '--since', cut]);
    const decoded = lines((await streamer(['decode', out, '--format', 'ndjson'])).stdout);
    expect(decoded.map((l) => JSON.parse(l).payload)).toEqual(['new']);
  });

  it('Ctrl-C stops dump with a valid file, no lock left, and exit 1 (ABORTED)', async () => {
    const name = key('dump-sigint');
    const count = 300_000; // enough that the copy is still running when the signal comes
    const input = `${Array.from({ length: count }, (_, i) => i).join('\n')}\n`;
    expect((await streamer(['produce', `${REDIS_URL}/${name}`], input)).code).toBe(0);
    const out = join(temp.dir, 'sigint.ss');
    const child = spawn(process.execPath, [BIN, 'dump', `${REDIS_URL}/${name}`, '-o', out], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const closed = new Promise((resolve) => child.on('close', resolve));
    // Copying has begun once messages reach the file (past its 128-byte header).
    while (!existsSync(out) || statSync(out).size <= 128) await sleep(5);
    child.kill('SIGINT');
    expect(await closed).toBe(1);
    expect(lines(stderr).at(-1)).toMatch(/^streamer: ABORTED: dump was stopped by a signal/);
    expect(existsSync(`${out}.lock`)).toBe(false);
    const decoded = await streamer(['decode', out]);
    expect(decoded.code).toBe(0);
    const payloads = lines(decoded.stdout).map((l) => parseLine(l).payload);
    expect(payloads).toEqual(Array.from({ length: payloads.length }, (_, i) => String(i)));
  });

  // Skipped where script(1) is missing: nothing else here can give the child a terminal.
  it.skipIf(!hasScript)('dump shows a progress bar on a terminal', async () => {
    const name = key('dump-tty');
    await streamer(['produce', `${REDIS_URL}/${name}`], 'p\nq\n');
    const out = join(temp.dir, 'tty.ss');
    // script(1) runs the command on a pseudo-terminal.
    const command = `${process.execPath} ${BIN} dump ${REDIS_URL}/${name} -o ${out}`;
    const run = await new Promise<string>((resolve) => {
      const child = spawn('script', ['-qec', command, '/dev/null'], {
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      let text = '';
      child.stdout.on('data', (d) => (text += d));
      child.on('close', () => resolve(text));
    });
    expect(run).toContain('dump |');
    expect(run).toContain('2/2 messages');
    expect(run).toContain('dump: wrote 2 messages');
  });
});
