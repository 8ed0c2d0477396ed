import { connect, type Streamer } from '@streamer/core';
import { describe, expect, it } from 'vitest';

/** Options of the backend under test, each with a value it accepts. */
export interface KnownOptions {
  connect?: Record<string, unknown>;
  producer?: Record<string, unknown>;
  consumer?: Record<string, unknown>;
}

export interface UnknownOptionsCase {
  /** The stream the tests write: a backend whose data outlives the run names one it cleans up. */
  stream?: () => string;
  /** A streamer URL of the backend; called once per connect. */
  url: () => string;
  /** What connecting needs besides (e.g. createIfNotExists, or stdio's input and output). */
  options?: () => Record<string, unknown>;
  /** The backend's own options: accepted under strict: true. */
  known?: KnownOptions;
}

const rejectsNaming = async (promise: Promise<unknown>, name: string) => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toMatchObject({ code: 'INVALID_ARGUMENT' });
  expect((error as Error).message).toContain(JSON.stringify(name));
};

/**
 * The one rule for options on every backend: one it does not know is ignored, so one options object
 * serves every URL; with `connect(url, { strict: true })` it is an INVALID_ARGUMENT naming it.
 */
export function unknownOptionsTests(name: string, c: UnknownOptionsCase): void {
  const open = (options: Record<string, unknown>) =>
    connect(c.url(), { ...c.options?.(), ...options });
  const stream = c.stream?.() ?? `unknown-options-${Date.now().toString(36)}-${process.pid}`;
  const use = async (s: Streamer, extra: Record<string, unknown>) => {
    try {
      const p = await s.createProducer(stream, { ...c.known?.producer, ...extra });
      await p.end();
      const consumer = await s.createConsumer(stream, { ...c.known?.consumer, ...extra });
      await consumer.end();
    } finally {
      await s.disconnect();
    }
  };

  describe(`${name}: unknown options`, () => {
    it('are ignored by connect, createProducer and createConsumer', async () => {
      const typo = { notAnOption: 1, someOtherBackendsOption: 'x' };
      await use(await open({ ...c.known?.connect, ...typo }), typo);
    });

    it('strict: true accepts every option the backend knows', async () => {
      await use(await open({ ...c.known?.connect, strict: true }), {});
    });

    it('strict: true makes one an INVALID_ARGUMENT naming it, in connect, producer and consumer', async () => {
      await rejectsNaming(open({ strict: true, notAConnectOption: 1 }), 'notAConnectOption');
      const s = await open({ strict: true });
      try {
        await rejectsNaming(
          s.createProducer(stream, { notAProducerOption: 1 } as object),
          'notAProducerOption',
        );
        await rejectsNaming(
          s.createConsumer(stream, { autocommit: 'disabled' } as object),
          'autocommit',
        );
      } finally {
        await s.disconnect();
      }
    });

    it('strict must be a boolean', async () => {
      await rejectsNaming(open({ strict: 'yes' }), 'yes');
    });
  });
}
