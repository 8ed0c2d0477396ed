import { describe, expect, it } from 'vitest';
import {
  formatLine,
  formatTimestamp,
  lineText,
  parseLine,
  parseTimestamp,
} from '../src/line-format.js';
import { SPEC_EXAMPLES } from './spec-examples.js';

function codeOf(fn: () => unknown): { code?: string; message?: string } {
  try {
    fn();
  } catch (error) {
    return error as { code?: string; message?: string };
  }
  return {};
}

describe('parseLine', () => {
  for (const example of SPEC_EXAMPLES) {
    it(`reads the spec example ${example.line}`, () => {
      const parsed = parseLine(example.line);
      expect(parsed.payload).toBe(example.payload);
      expect(parsed.timestamp?.toISOString()).toBe(example.timestamp);
      expect(parsed.streamKey).toBe(example.streamKey);
      expect(parsed.sequence).toBe(example.sequence);
      expect(parsed.shardId).toBe(example.shardId);
    });
  }

  it('keeps the payload after the one separating space byte for byte', () => {
    expect(parseLine('[k]   two spaces  ').payload).toBe('  two spaces  ');
    expect(parseLine('[k]tight').payload).toBe('tight');
    expect(parseLine('[k] ').payload).toBe('');
    expect(parseLine('').payload).toBe('');
    expect(parseLine('[k] a ] b').payload).toBe('a ] b');
  });

  it('trims the parts of the header', () => {
    expect(parseLine('[  2022-01-01T00:00:00|k  |7|  1 ] x')).toMatchObject({
      streamKey: 'k',
      sequence: 7n,
      shardId: 1,
    });
  });

  it.each([
    ['[no closing bracket', 'no closing "]"'],
    ['[] x', '"" is not a timestamp'],
    ['[ ] x', '"" is not a timestamp'],
    ['[bad key!] x', '"bad key!" is not a timestamp (YYYY-MM-DDTHH:MM:SS) or a stream key'],
    ['[2022-13-01T00:00:00] x', '"2022-13-01T00:00:00" is not a valid date and time'],
    ['[2022-02-30T00:00:00 | k] x', 'is not a valid date and time'],
    ['[2022-01-01T00:00:00 | 2022-01-01T00:00:00] x', 'is not a stream key'],
    ['[k | -1] x', '"-1" is not a sequence number'],
    ['[k | 18446744073709551616] x', 'is not a sequence number'],
    ['[k | 1 | x] x', '"x" is not a shard id'],
    ['[k | 1 | 99999999999999999999] x', 'is not a shard id'],
    ['[k | 1 | 2 | 3] x', 'too many header parts'],
    ['[SEA_STREAMER_INTERNAL] x', 'is not a timestamp'],
  ])('rejects %s, naming the line', (line, why) => {
    const error = codeOf(() => parseLine(line));
    expect(error.code).toBe('CORRUPT_DATA');
    expect(error.message).toContain(JSON.stringify(line).slice(0, 60));
    expect(error.message).toContain(why);
  });

  it('reads the largest sequence number', () => {
    expect(parseLine('[k | 18446744073709551615] x').sequence).toBe(2n ** 64n - 1n);
  });
});

describe('formatLine', () => {
  it('writes [timestamp | stream_key | sequence] payload, with milliseconds', () => {
    const line = formatLine(
      {
        timestamp: new Date('2022-01-01T00:00:00.123Z'),
        streamKey: 'orders',
        sequence: 5n,
        shardId: 0,
      },
      'hello',
    );
    expect(line).toBe('[2022-01-01T00:00:00.123 | orders | 5] hello');
  });

  it('adds the shard only when it is not 0', () => {
    const header = { timestamp: new Date(0), streamKey: 'k', sequence: 1n, shardId: 3 };
    expect(formatLine(header, 'p')).toBe('[1970-01-01T00:00:00.000 | k | 1 | 3] p');
  });

  for (const example of SPEC_EXAMPLES) {
    it(`round-trips the spec example ${example.line}`, () => {
      const parsed = parseLine(example.line);
      const header = {
        timestamp: parsed.timestamp ?? new Date('2030-05-06T07:08:09.010Z'),
        streamKey: parsed.streamKey ?? 'broadcast',
        sequence: parsed.sequence ?? 0n,
        shardId: parsed.shardId ?? 0,
      };
      const again = parseLine(formatLine(header, parsed.payload));
      expect({ shardId: 0, ...again }).toEqual({ ...header, payload: parsed.payload });
    });
  }

  it('round-trips payloads with leading spaces and brackets', () => {
    const header = { timestamp: new Date(1), streamKey: 'k', sequence: 0n, shardId: 0 };
    for (const payload of ['', ' x', '[k] y', '  ', '|]|']) {
      expect(parseLine(formatLine(header, payload)).payload).toBe(payload);
    }
  });
});

describe('timestamps', () => {
  it('parse fractions to milliseconds and years 0 to 9999', () => {
    expect(parseTimestamp('2022-01-01T00:00:00.1')?.toISOString()).toBe('2022-01-01T00:00:00.100Z');
    expect(parseTimestamp('2022-01-01T00:00:00.123456789')?.toISOString()).toBe(
      '2022-01-01T00:00:00.123Z',
    );
    expect(formatTimestamp(parseTimestamp('0050-06-07T08:09:10')!)).toBe('0050-06-07T08:09:10.000');
    expect(parseTimestamp('2022-01-01 00:00:00')).toBeUndefined();
    expect(parseTimestamp('2022-01-01T24:00:00')).toBeUndefined();
  });

  it('refuse to format a year a line cannot hold', () => {
    const error = codeOf(() => formatTimestamp(new Date('+010000-01-01T00:00:00Z')));
    expect(error.code).toBe('INVALID_ARGUMENT');
    expect(error.message).toContain('+010000');
  });
});

describe('lineText', () => {
  it('passes UTF-8 text through', () => {
    expect(lineText(new TextEncoder().encode('héllo ✓'))).toBe('héllo ✓');
  });

  it('refuses what would break a line: invalid UTF-8, CR, LF', () => {
    expect(codeOf(() => lineText(Uint8Array.of(0xff))).code).toBe('INVALID_PAYLOAD');
    const lf = codeOf(() => lineText(new TextEncoder().encode('one\ntwo')));
    expect(lf.code).toBe('INVALID_PAYLOAD');
    expect(lf.message).toContain('"one\\ntwo"');
    expect(codeOf(() => lineText(new TextEncoder().encode('cr\r'))).code).toBe('INVALID_PAYLOAD');
  });
});
