/** Lets a streamer learn when a producer or consumer it made has ended, without a public API for it. */
export const onEnd = Symbol('streamer.onEnd');

export interface Endable {
  end(): Promise<void>;
  [onEnd](listener: () => void): void;
}
