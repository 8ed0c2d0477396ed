// consumer.run() across real crashes: group members in child processes that die with messages
// in flight (SIGKILL, from themselves or from us), on the test server.
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Message } from '@streamer/core';
import { afterEach, describe, expect, it } from 'vitest';
import { cli, freshKey, redisUrl, streamers, take } from './support/helpers.js';

const script = fileURLToPath(new URL('./child/run-member.mjs', import.meta.url));
const open = streamers();
const children = new Set<ChildProcess>();
// A failed test must not leave a member running (one whose handlers hang ignores SIGTERM).
afterEach(() => {
  for (const child of children) child.kill('SIGKILL');
  children.clear();
});

/** A member in a child process; `lines` gets what it prints, `exited` its signal or code. */
function member(key: string, consumer: object, run: object, behaviour: 'poison' | 'hang') {
  const child: ChildProcess = spawn(
    process.execPath,
    [script, redisUrl(), key, JSON.stringify(consumer), JSON.stringify(run), behaviour],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  children.add(child);
  const lines: string[] = [];
  const waiters: (() => void)[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    for (const wake of waiters.splice(0)) wake();
  });
  const exited = new Promise<string>((resolve) =>
    child.once('exit', (code, signal) => resolve(signal ?? `exit ${code}`)),
  );
  /** Resolves once a printed line satisfies `test`. */
  const until = async (test: (lines: string[]) => boolean) => {
    while (!test(lines)) await new Promise<void>((resolve) => waiters.push(resolve));
  };
  return { child, lines, exited, until };
}

async function send(key: string, texts: string[]) {
  const s = await open();
  const p = await s.createProducer(key);
  for (const t of texts) p.send(t);
  await p.end();
}

describe('run() with members that crash (child processes)', () => {
  it('a poison message that kills its process on every delivery reaches the dead letters after maxDeliveries restarts', {
    timeout: 60_000,
  }, async () => {
    const key = freshKey('poison');
    const dlq = freshKey('poison-dead');
    const texts = ['m0', 'm1', 'm2', 'm3', 'poison', 'm5', 'm6', 'm7', 'm8', 'm9'];
    await send(key, texts);
    const s = await open();
    const dead = await s.createConsumer(dlq, { start: 'earliest' });
    const consumer = {
      mode: 'resumable',
      group: 'g',
      start: 'earliest',
      autoCommit: 'immediate',
      batchSize: 100, // every message is read ahead with the poison one
    };
    const run = { deadLetter: { stream: dlq, maxDeliveries: 3 } };
    const lines: string[] = []; // every member's, in order
    const letter = take(dead, 1, 50_000); // four processes start meanwhile
    let kills = 0;
    for (;;) {
      const m = member(key, consumer, run, 'poison');
      const outcome = await Promise.race([m.exited, letter.then(() => 'dead-lettered')]);
      if (outcome === 'SIGKILL') {
        lines.push(...m.lines);
        kills++;
        if (kills > 3) throw new Error(`killed ${kills} times: ${lines.join(', ')}`);
        continue;
      }
      // This one lives: once the others are done, it stops on SIGTERM.
      const done = (own: string[]) =>
        [...lines, ...own].filter((l) => l.startsWith('done ')).length === texts.length - 1;
      await m.until(done);
      m.child.kill('SIGTERM');
      expect(await m.exited).toBe('exit 0');
      lines.push(...m.lines);
      break;
    }
    const [poison] = await letter;
    expect(poison.text()).toBe('poison');
    expect(poison.headers['dead-letter-delivery-count']).toBe('4');
    const started = lines.filter((l) => l.startsWith('start '));
    expect(kills).toBe(3);
    // Its deliveries 1 to 3 each reached the handler and killed the process; the 4th did not.
    expect(started.filter((l) => l.startsWith('start poison'))).toEqual([
      'start poison 1',
      'start poison 2',
      'start poison 3',
    ]);
    // The others: each handled once, read ahead with the poison one (one count more at most).
    const others = started.filter((l) => !l.startsWith('start poison'));
    expect(others.map((l) => l.split(' ')[1])).toEqual(texts.filter((t) => t !== 'poison'));
    for (const line of others) expect(Number(line.split(' ')[2])).toBeLessThanOrEqual(2);
    expect((await cli('XPENDING', key, 'g')).split('\n')[0]).toBe('0');
    expect(Number(await cli('XLEN', dlq))).toBe(1);
  });

  it('a loadBalanced member killed -9 with messages in flight loses none: the survivor claims and handles them', async () => {
    const key = freshKey('failover');
    const texts = Array.from({ length: 60 }, (_, i) => `m${i}`);
    await send(key, texts);
    const options = {
      mode: 'loadBalanced',
      group: 'g',
      start: 'earliest',
      autoCommit: 'immediate',
      batchSize: 10,
      autoClaimIdleMs: 300,
      autoClaimIntervalMs: 50,
    } as const;
    const doomed = member(
      key,
      { ...options, consumerId: 'doomed' },
      { concurrency: 4, ordering: 'none' },
      'hang',
    );
    await doomed.until((lines) => lines.filter((l) => l.startsWith('start ')).length === 4);
    const s = await open();
    const survivor = await s.createConsumer(key, { ...options, consumerId: 'survivor' });
    doomed.child.kill('SIGKILL');
    expect(await doomed.exited).toBe('SIGKILL');
    const handled: Message[] = [];
    let all!: () => void;
    const finished = new Promise<void>((resolve) => {
      all = resolve;
    });
    const run = survivor.run({
      concurrency: 4,
      ordering: 'none',
      eachMessage: (m) => {
        handled.push(m);
        if (new Set(handled.map((h) => h.text())).size === texts.length) all();
      },
    });
    await finished;
    await run.stop();
    await survivor.end();
    // Every message handled once, those the doomed member held in flight among them.
    expect(handled.map((m) => m.text()).sort()).toEqual([...texts].sort());
    const inFlight = doomed.lines.map((l) => l.split(' ')[1]);
    const claimed = handled.filter((m) => inFlight.includes(m.text()));
    expect(claimed).toHaveLength(4);
    for (const m of claimed) expect(m.deliveryCount).toBe(2);
    expect((await cli('XPENDING', key, 'g')).split('\n')[0]).toBe('0');
  });
});
