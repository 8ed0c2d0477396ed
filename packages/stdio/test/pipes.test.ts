import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { finished, fixture, jsonLines, runFixture } from './helpers.js';
import { SPEC_EXAMPLES } from './spec-examples.js';

const TOPICS = ['my_topic', 'my-topic-2'];

describe('real processes connected by pipes', () => {
  it('produce | consume round-trips every example line of the spec', async () => {
    const producer = spawn(
      process.execPath,
      [fixture('produce.mjs'), ...SPEC_EXAMPLES.map((e) => e.line)],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const consumer = spawn(process.execPath, [fixture('consume.mjs'), ...TOPICS], {
      stdio: [producer.stdout!, 'pipe', 'pipe'],
    });
    producer.stdout!.destroy(); // the consumer has its own copy of the pipe's read end
    const [produced, consumed] = await Promise.all([finished(producer, true), finished(consumer)]);
    expect(produced).toMatchObject({ code: 0, stderr: '' });
    expect(consumed).toMatchObject({ code: 0, stderr: '' });
    const messages = jsonLines(consumed.stdout);
    expect(messages.pop()).toEqual({ member: 0, end: 'STREAM_ENDED' });
    // The producer numbers each (stream, shard) from 0.
    const counters = new Map<string, number>();
    const expected = SPEC_EXAMPLES.map((e) => {
      const streamKey = e.streamKey ?? 'broadcast';
      const shardId = e.shardId ?? 0;
      const sequence = counters.get(`${streamKey}/${shardId}`) ?? 0;
      counters.set(`${streamKey}/${shardId}`, sequence + 1);
      return { streamKey, shardId, sequence: String(sequence), payload: e.payload };
    });
    expect(messages.map(({ timestamp, member, ...rest }) => rest)).toEqual(expected);
    for (const [i, example] of SPEC_EXAMPLES.entries()) {
      if (example.timestamp) expect(messages[i].timestamp).toBe(example.timestamp);
    }
  });

  it('a consumer reads the spec lines as written: explicit sequences reset the counter', async () => {
    const input = `${SPEC_EXAMPLES.map((e) => e.line).join('\n')}\n[my_topic] next\n`;
    const { code, stdout, stderr } = await runFixture('consume.mjs', TOPICS, input);
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const got = jsonLines(stdout).map((m) => [m.streamKey, m.shardId, m.sequence, m.payload]);
    expect(got).toEqual([
      ['broadcast', 0, '0', 'a plain, raw message'],
      ['broadcast', 0, '1', '{ "payload": "anything" }'],
      ['my_topic', 0, '0', '"a string payload"'],
      ['my-topic-2', 0, '123', '["array", "of", "values"]'],
      ['my-topic-2', 4, '123', '{ "payload": "anything" }'],
      ['my_topic', 0, '1', 'a string payload'],
      ['my_topic', 0, '123', '{ "payload": "anything" }'],
      ['my_topic', 4, '123', '{ "payload": "anything" }'],
      ['my_topic', 0, '124', 'next'],
      [undefined, undefined, undefined, undefined], // the end marker
    ]);
  });

  it('a malformed line is reported on stderr with its number; the lines after it are read', async () => {
    const input = Buffer.concat([
      Buffer.from('[a] one\n[a | not-a-number] two\n'),
      Buffer.from([0xff, 0x0a]), // not UTF-8
      Buffer.from('[a] three'), // the last line needs no line break
    ]);
    const { code, stdout, stderr } = await runFixture('consume.mjs', ['a'], input);
    expect(code).toBe(0);
    expect(jsonLines(stdout).map((m) => m.payload ?? m.end)).toEqual([
      'one',
      'three',
      'STREAM_ENDED',
    ]);
    const errors = stderr.trim().split('\n');
    expect(errors).toHaveLength(2);
    expect(errors[0]).toContain('CORRUPT_DATA: stdin line 2:');
    expect(errors[0]).toContain('"not-a-number" is not a sequence number');
    expect(errors[1]).toContain('CORRUPT_DATA: stdin line 3:');
  });

  it('consumers get their streams and broadcast; a group splits by sequence % members', async () => {
    const input = '[a] a0\n[b] b0\nhello\n[a] a1\n[a] a2\n[a] a3\n';
    const only = await runFixture('consume.mjs', ['a'], input);
    expect(jsonLines(only.stdout).map((m) => m.payload ?? m.end)).toEqual([
      'a0',
      'hello',
      'a1',
      'a2',
      'a3',
      'STREAM_ENDED',
    ]);
    const group = await runFixture('consume.mjs', ['--members', '2', 'a'], input);
    const byMember = [0, 1].map((member) =>
      jsonLines(group.stdout)
        .filter((m) => m.member === member)
        .map((m) => m.payload ?? m.end),
    );
    // broadcast sequence 0 goes to member 0 of the group, like any message with sequence 0.
    expect(byMember).toEqual([
      ['a0', 'hello', 'a2', 'STREAM_ENDED'],
      ['a1', 'a3', 'STREAM_ENDED'],
    ]);
  });

  it('a process whose consumers ended exits, though its stdin stays open', async () => {
    const child = spawn(process.execPath, [fixture('first.mjs'), 'a'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stdin!.write('[b] not this\n[a] first\n'); // and stdin is never closed
    const { code, stdout } = await finished(child);
    expect({ code, stdout }).toEqual({ code: 0, stdout: 'first\n' });
    child.stdin!.destroy();
  });

  it('a producer whose reader went away gets BACKEND errors instead of crashing (EPIPE)', async () => {
    const child = spawn(process.execPath, [fixture('epipe.mjs')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout!.once('data', () => child.stdout!.destroy()); // read a little, then hang up
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect({ code, stderr }).toEqual({ code: 0, stderr: 'BACKEND\n' });
  });

  it('1M lines into a slow pipe: the producer waits for the pipe, memory stays flat, no line is lost', async () => {
    const total = 1_000_000;
    const producer = spawn(
      process.execPath,
      ['--max-old-space-size=48', fixture('flood.mjs'), String(total)],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let lines = 0;
    let chunks = 0;
    let stderr = '';
    producer.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    producer.stdout!.on('data', (chunk: Buffer) => {
      for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines++;
      // A slow reader: stop now and then so the pipe fills up.
      if (++chunks % 50 === 0) {
        producer.stdout!.pause();
        setTimeout(() => producer.stdout!.resume(), 5);
      }
    });
    const code = await new Promise((resolve) => producer.on('close', resolve));
    expect(code).toBe(0);
    expect(lines).toBe(total);
    // Unbounded, the ~80 MB written would pile up in stdout's buffer (and overflow the 48 MB heap).
    expect(JSON.parse(stderr).maxBuffered).toBeLessThan(4 * 1024 * 1024);
  }, 180_000); // a million lines take a while on a busy machine
});
