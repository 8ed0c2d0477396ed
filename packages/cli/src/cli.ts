import { createRequire } from 'node:module';
import { StreamerError } from '@streamer/core';
import { Command, CommanderError } from 'commander';
import { clockCommand } from './commands/clock.js';
import { consumeCommand } from './commands/consume.js';
import { decodeCommand } from './commands/decode.js';
import { dumpCommand } from './commands/dump.js';
import { infoCommand } from './commands/info.js';
import { produceCommand } from './commands/produce.js';
import { relayCommand } from './commands/relay.js';
import { trimCommand } from './commands/trim.js';
import { UsageError } from './errors.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

/** Exit codes: 0 ok, 1 the command failed, 2 the command line is wrong. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export function createProgram(): Command {
  const program = new Command('streamer')
    .description(
      'Kafka-like streams from the shell, on any backend: redis://, file://, stdio://.\n' +
        'URLs name the streams after the last "/": redis://localhost:6379/orders,payments',
    )
    .version(version)
    .option('--verbose', 'print the stack trace of an error')
    .exitOverride()
    .configureOutput({
      // One line, like every other error: `streamer: CODE: message`.
      outputError: (text, write) => write(`streamer: USAGE: ${text.replace(/^error: /, '')}`),
    });
  for (const add of [
    consumeCommand,
    produceCommand,
    relayCommand,
    clockCommand,
    decodeCommand,
    dumpCommand,
    infoCommand,
    trimCommand,
  ]) {
    add(program);
  }
  return program;
}

/** Runs the command line `args` (without node and the script); resolves with the exit code. */
export async function run(args: string[]): Promise<number> {
  const verbose = args.includes('--verbose');
  let stdoutGone = false;
  const onStdoutError = (error: { code?: string }) => {
    if (error.code === 'EPIPE') stdoutGone = true;
  };
  process.stdout.on('error', onStdoutError);
  try {
    await createProgram().parseAsync(args, { from: 'user' });
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander printed it already (help and --version exit with 0).
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    // The reader of stdout went away (`streamer clock stdio:///c | head`): done, as with `yes | head`.
    if (stdoutGone && causedBy(error, 'EPIPE')) return EXIT.ok;
    const usage = error instanceof UsageError;
    const cause = usage ? error.error : error;
    const code = cause instanceof StreamerError ? cause.code : 'ERROR';
    const message = cause instanceof Error ? cause.message : String(cause);
    process.stderr.write(`streamer: ${code}: ${message}\n`);
    if (verbose && cause instanceof Error) process.stderr.write(`${cause.stack}\n`);
    return usage ? EXIT.usage : EXIT.failed;
  } finally {
    process.stdout.off('error', onStdoutError);
  }
}

function causedBy(error: unknown, code: string): boolean {
  for (let e = error; e instanceof Error; e = e.cause) {
    if ((e as { code?: unknown }).code === code) return true;
  }
  return false;
}
