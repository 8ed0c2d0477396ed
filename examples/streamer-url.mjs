// Where the examples run: STREAMER_URL, or a file in the OS temp folder (no server needed).
//   STREAMER_URL=redis://localhost:6379 node examples/producer.mjs
//   STREAMER_URL=stdio:// node examples/producer.mjs | STREAMER_URL=stdio:// node examples/consumer.mjs
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { connect } from '@streamer/core';

export const STREAMER_URL =
  process.env.STREAMER_URL ?? pathToFileURL(join(tmpdir(), 'streamer-examples.ss')).href;

/**
 * Connects to STREAMER_URL. Each backend takes its own connect options: a file is created on first
 * use, and stdio with `loopback` delivers what a process produces to its own consumers (the
 * single-process examples need that).
 */
export function open({ loopback = false } = {}) {
  if (STREAMER_URL.startsWith('file:')) return connect(STREAMER_URL, { createIfNotExists: true });
  if (STREAMER_URL.startsWith('stdio:')) return connect(STREAMER_URL, { loopback });
  return connect(STREAMER_URL);
}

/** Ends `what` (a consumer or a streamer) on Ctrl-C, so the loop reading it stops cleanly. */
export function stopOnSignal(what) {
  const stop = () => what.end?.() ?? what.disconnect();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
