import { defineProject } from 'vitest/config';

export default defineProject({
  test: {
    name: 'stdio',
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    // Skipped: the conformance test "sends binary payloads byte for byte" cannot hold for stdio,
    // whose messages are UTF-8 lines (SeaStreamer refuses non-UTF-8 too); stdio rejects such
    // payloads with INVALID_PAYLOAD, which test/streamer.test.ts checks. Remove this once the
    // suite gates that test on a capability flag.
    testNamePattern: /^(?!.*sends binary payloads byte for byte)/,
  },
});
