export {
  BROADCAST,
  formatLine,
  formatTimestamp,
  type LineHeader,
  lineText,
  type ParsedLine,
  parseLine,
  parseTimestamp,
} from './line-format.js';
export {
  backend,
  STDIO_SUPPORTS,
  type StdioConnectOptions,
  StdioStreamer,
} from './streamer.js';
