import { connect, type Streamer, StreamerError } from '@streamer/core';
import { UsageError } from './errors.js';

/** What a backend's connect() says about the URL it was given: the command line's fault (exit 2). */
const URL_ERRORS = new Set(['INVALID_URL', 'INVALID_ARGUMENT', 'INVALID_STREAM_KEY']);

/**
 * Connects for a command. Files are created when written to, and `follow: false` makes a file
 * consumer end at the end of the file instead of waiting for more.
 */
export function open(
  url: string,
  protocol: string,
  use: { write?: boolean; follow?: boolean } = {},
): Promise<Streamer> {
  const options: Record<string, unknown> = {};
  if (protocol === 'file') {
    if (use.write) options.createIfNotExists = true;
    if (use.follow === false) options.follow = false;
  }
  return connect(url, options).catch((error: unknown) => {
    if (error instanceof StreamerError && URL_ERRORS.has(error.code)) throw new UsageError(error);
    throw error;
  });
}

/** An AbortSignal that aborts on Ctrl-C or SIGTERM, so commands stop cleanly (acks committed). */
export function stopSignal(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return {
    signal: controller.signal,
    dispose() {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  };
}
