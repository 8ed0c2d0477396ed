import type { Writable } from 'node:stream';
import type { Message, MessageHeader } from '@streamer/core';
import { formatLine, lineText } from '@streamer/stdio';

export const FORMATS = ['log', 'ndjson', 'raw'] as const;
export type Format = (typeof FORMATS)[number];

/** A payload fit for one log line: its text, or a JSON string / base64 when it is not line-safe. */
function printable(payload: Uint8Array): string {
  try {
    return lineText(payload);
  } catch {
    const text = Buffer.from(payload).toString('utf8');
    return Buffer.from(text, 'utf8').equals(payload)
      ? JSON.stringify(text)
      : `base64:${Buffer.from(payload).toString('base64')}`;
  }
}

/** One message as output: `log` is the stdio line format, so output pipes into `stdio://` readers. */
export function formatMessage(m: Message, format: Format): string | Buffer {
  if (format === 'raw') return Buffer.concat([m.payload, Buffer.from('\n')]);
  if (format === 'log') return `${formatLine(m, printable(m.payload))}\n`;
  return `${JSON.stringify(messageJson(m))}\n`;
}

function headerJson(m: MessageHeader) {
  return {
    stream: m.streamKey,
    shard: m.shardId,
    sequence: String(m.sequence),
    timestamp: m.timestamp.toISOString(),
  };
}

function messageJson(m: Message) {
  const text = (() => {
    try {
      return m.text();
    } catch {
      return undefined;
    }
  })();
  const payload =
    text === undefined
      ? { payloadBase64: Buffer.from(m.payload).toString('base64') }
      : { payload: text };
  const headers = Object.keys(m.headers).length > 0 ? { headers: m.headers } : {};
  return { ...headerJson(m), ...payload, ...headers };
}

/**
 * Writes to stdout, waiting when the reader is slow; `write` resolves false once the reader has
 * gone away (EPIPE, e.g. `streamer consume … | head`), which ends a command quietly.
 */
export class Output {
  #closed = false;

  constructor(readonly stream: Writable) {
    stream.on('error', () => {
      this.#closed = true;
    });
  }

  async write(chunk: string | Uint8Array): Promise<boolean> {
    if (this.#closed) return false;
    if (!this.stream.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          this.stream.off('drain', done);
          this.stream.off('error', done);
          resolve();
        };
        this.stream.on('drain', done);
        this.stream.on('error', done);
      });
    }
    return !this.#closed;
  }
}
