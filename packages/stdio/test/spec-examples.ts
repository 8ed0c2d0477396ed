/** Every example line of docs/spec/stdio-format.md, with what it says. */
export const SPEC_EXAMPLES: {
  line: string;
  timestamp?: string;
  streamKey?: string;
  sequence?: bigint;
  shardId?: number;
  payload: string;
}[] = [
  { line: 'a plain, raw message', payload: 'a plain, raw message' },
  {
    line: '[2022-01-01T00:00:00] { "payload": "anything" }',
    timestamp: '2022-01-01T00:00:00.000Z',
    payload: '{ "payload": "anything" }',
  },
  {
    line: '[2022-01-01T00:00:00.123 | my_topic] "a string payload"',
    timestamp: '2022-01-01T00:00:00.123Z',
    streamKey: 'my_topic',
    payload: '"a string payload"',
  },
  {
    line: '[2022-01-01T00:00:00 | my-topic-2 | 123] ["array", "of", "values"]',
    timestamp: '2022-01-01T00:00:00.000Z',
    streamKey: 'my-topic-2',
    sequence: 123n,
    payload: '["array", "of", "values"]',
  },
  {
    line: '[2022-01-01T00:00:00 | my-topic-2 | 123 | 4] { "payload": "anything" }',
    timestamp: '2022-01-01T00:00:00.000Z',
    streamKey: 'my-topic-2',
    sequence: 123n,
    shardId: 4,
    payload: '{ "payload": "anything" }',
  },
  { line: '[my_topic] a string payload', streamKey: 'my_topic', payload: 'a string payload' },
  {
    line: '[my_topic | 123] { "payload": "anything" }',
    streamKey: 'my_topic',
    sequence: 123n,
    payload: '{ "payload": "anything" }',
  },
  {
    line: '[my_topic | 123 | 4] { "payload": "anything" }',
    streamKey: 'my_topic',
    sequence: 123n,
    shardId: 4,
    payload: '{ "payload": "anything" }',
  },
];
