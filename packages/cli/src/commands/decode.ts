import { StreamerError } from '@streamer/core';
import { pathFromUrl, readHeader, readMessages } from '@streamer/file';
import type { Command } from 'commander';
import { choice } from '../args.js';
import { usage } from '../errors.js';
import { formatMessage, Output } from '../output.js';

interface DecodeOptions {
  format: string;
  headerOnly?: boolean;
  resync?: boolean;
}

export function decodeCommand(program: Command): void {
  program
    .command('decode')
    .description('print the messages of a .ss file (SeaStreamer file format)')
    .argument('<file>', 'a path or file:// URL')
    .option('--format <format>', 'log (stdio lines) or ndjson', 'log')
    .option('--header-only', 'print the file header only')
    .option('--resync', 'after damage, report it and read on at the next beacon')
    .action((file: string, options: DecodeOptions) => decode(file, options));
}

/** A path from a path or a file: URL, absolute (`file:///x.ss`) or relative (`file://./x.ss`). */
export function filePath(file: string): string {
  if (!file.startsWith('file:')) return file;
  return usage(() => {
    let url: URL;
    try {
      url = new URL(file);
    } catch (cause) {
      throw new StreamerError('INVALID_URL', `Invalid file URL ${JSON.stringify(file)}`, { cause });
    }
    return pathFromUrl(url);
  });
}

async function decode(file: string, o: DecodeOptions): Promise<void> {
  const format = usage(() => choice('--format', o.format, ['log', 'ndjson'] as const));
  const path = filePath(file);
  const output = new Output(process.stdout);
  if (o.headerOnly) {
    const header = await readHeader(path);
    const fields = {
      fileName: header.fileName,
      createdAt: header.createdAt.toISOString(),
      beaconInterval: header.beaconInterval,
      version: header.version,
    };
    await output.write(
      format === 'ndjson'
        ? `${JSON.stringify(fields)}\n`
        : Object.entries(fields)
            .map(([name, value]) => `${name}: ${value}\n`)
            .join(''),
    );
    return;
  }
  let damaged = 0;
  const onCorrupt = (error: Error & { code?: string }) => {
    damaged++;
    process.stderr.write(`streamer: ${error.code}: ${error.message}\n`);
  };
  for await (const message of readMessages(path, { resync: o.resync, onCorrupt })) {
    if (!(await output.write(formatMessage(message, format)))) break;
  }
  // Read on, but not silently: a script sees the damage in the exit code, as without --resync.
  if (damaged > 0) {
    throw new StreamerError(
      'CORRUPT_DATA',
      `${path}: ${damaged} damaged region(s) skipped (see above)`,
    );
  }
}
