import type { Streamer } from './types.js';

/** Lets a streamer learn when a producer or consumer it made has ended, without a public API for it. */
export const onEnd = Symbol('streamer.onEnd');
/** Tells a consumer its streamer is disconnecting: stop waiting for the backend to come back. */
export const giveUp = Symbol('streamer.giveUp');

/** The streamer that made a consumer: where a run creates its dead-letter producer. */
export const madeBy = Symbol('streamer.madeBy');

export interface Endable {
  end(): Promise<void>;
  [onEnd](listener: () => void): void;
  [giveUp]?(): void;
  [madeBy]?: Streamer;
}
