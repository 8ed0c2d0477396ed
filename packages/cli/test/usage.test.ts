import { describe, expect, it } from 'vitest';
import { lines, streamer } from './helpers.js';

const COMMANDS = ['consume', 'produce', 'relay', 'clock', 'decode', 'dump', 'info', 'trim'];

describe('streamer: help, usage errors and exit codes', () => {
  it('--help lists every command and exits 0', async () => {
    const { code, stdout } = await streamer(['--help']);
    expect(code).toBe(0);
    for (const command of COMMANDS) expect(stdout).toContain(`  ${command} `);
  });

  it.each(COMMANDS)('%s --help shows its usage and exits 0', async (command) => {
    const { code, stdout } = await streamer([command, '--help']);
    expect(code).toBe(0);
    expect(stdout).toContain(`Usage: streamer ${command} [options]`);
  });

  it.each([
    [['nope'], "streamer: USAGE: unknown command 'nope'"],
    [['consume'], "streamer: USAGE: missing required argument 'url'"],
    [
      ['consume', 'redis://localhost:6379/k', '--bogus'],
      "streamer: USAGE: unknown option '--bogus'",
    ],
    [
      ['consume', 'redis://localhost:6379'],
      'streamer: INVALID_URL: Invalid stream URL "redis://localhost:6379"',
    ],
    [
      ['consume', 'redis://localhost:6379/bad key'],
      'streamer: INVALID_STREAM_KEY: Invalid stream key "bad key"',
    ],
    [
      ['consume', 'redis://localhost:6379/k', '--count', '0'],
      'streamer: INVALID_ARGUMENT: --count must be a positive integer, got "0"',
    ],
    [
      ['consume', 'redis://localhost:6379/k', '--format', 'xml'],
      '--format must be one of log, ndjson, raw, got "xml"',
    ],
    [
      ['consume', 'redis://localhost:6379/k', '--since', 'yesterday'],
      '--since must be a time like',
    ],
    [
      ['consume', 'redis://localhost:6379/k', '--earliest', '--latest'],
      '--earliest and --latest exclude each other',
    ],
    [
      [
        'relay',
        'redis://localhost:6379/a',
        'redis://localhost:6379/b',
        '--offset',
        'start',
        '--latest',
      ],
      '--earliest and --latest exclude each other',
    ],
    [
      ['relay', 'redis://localhost:6379/a', 'redis://localhost:6379/b', '--offset', 'middle'],
      'streamer: INVALID_ARGUMENT: --offset must be one of start, end, got "middle"',
    ],
    [
      ['consume', 'redis://localhost:6379/k', '--group', 'g'],
      'streamer: GROUP_NOT_ALLOWED: A realtime consumer has no group (got group "g")',
    ],
    [['consume', 'redis://localhost:6379/k', '--mode', 'resumable'], 'streamer: GROUP_REQUIRED: '],
    [
      ['consume', 'redis://localhost:6379/k', '--mode', 'loadBalanced', '--group', 'a/b'],
      'streamer: INVALID_ARGUMENT: group must be a name of 1 to 249',
    ],
    [
      ['produce', 'redis://localhost:6379/a,b'],
      'names 2 streams; this command writes to exactly one',
    ],
    [
      ['clock', 'redis://localhost:6379/k', '--interval', 'soon'],
      'interval must be a duration like 500ms, 1s or 2m, got "soon"',
    ],
    [
      ['relay', 'file:///tmp/none.ss/', 'file:///tmp/none.ss/'],
      'would read its own output forever',
    ],
    [
      ['relay', 'redis://localhost:6379/a,b', 'redis://localhost:6379/b'],
      'would read its own output forever',
    ],
    [['produce', 'stdio://host/k'], 'streamer: INVALID_URL: stdio:// takes no host, got "host"'],
    [
      ['consume', 'file://elsewhere/x.ss/k'],
      'streamer: INVALID_URL: Invalid file URL "file://elsewhere/x.ss": host "elsewhere"',
    ],
    [
      ['consume', 'redis://127.0.0.1:6379/k?db=x'],
      'streamer: INVALID_ARGUMENT: ?db must be a non-negative integer database number, got "x"',
    ],
    [['trim', 'redis://localhost:6379/k'], 'trim needs exactly one of --max-len and --min-ts'],
    [['dump', 'redis://localhost:6379/k'], "required option '-o, --output <file>' not specified"],
  ])('%j is a usage error: exit 2, one line naming the problem', async (args, expected) => {
    const { code, stdout, stderr } = await streamer(args);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(lines(stderr)).toHaveLength(1);
    expect(stderr).toContain(expected);
    expect(stderr).toMatch(/^streamer: [A-Z_]+: /);
  });

  it('a runtime failure exits 1 with one line; --verbose adds the stack', async () => {
    const url = 'redis://127.0.0.1:1/k'; // nothing listens on port 1
    const quiet = await streamer(['consume', url]);
    expect(quiet.code).toBe(1);
    expect(lines(quiet.stderr)).toEqual([
      expect.stringMatching(/^streamer: CONNECT: .*127\.0\.0\.1:1/),
    ]);
    const verbose = await streamer(['--verbose', 'consume', url]);
    expect(verbose.code).toBe(1);
    expect(verbose.stderr).toMatch(/^streamer: CONNECT: /);
    expect(verbose.stderr).toContain('    at ');
  });

  it('an unknown backend is a runtime error naming the protocol', async () => {
    const { code, stderr } = await streamer(['consume', 'kafka://host/k']);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^streamer: UNKNOWN_BACKEND: No backend for protocol "kafka:"/);
  });
});
