export { WILDCARD } from './consumer.js';
export { CRC_INIT, crc16, crc16Update, runningChecksum } from './crc.js';
export { Decoder } from './decoder.js';
export {
  type Beacon,
  type BeaconItem,
  beaconSize,
  beaconSlots,
  DEFAULT_BEACON_INTERVAL,
  decodeBeacon,
  decodeHeader,
  decodeMessage,
  EOS_KEY,
  EOS_PAYLOAD,
  encodeBeacon,
  encodeHeader,
  encodeMessage,
  type FileHeader,
  FileMessage,
  FORMAT_VERSION,
  HEADER_SIZE,
  isEos,
  messageSize,
} from './format.js';
export {
  type FileConnectOptions,
  type FileConsumerOptions,
  pathFromUrl,
  type ReadOptions,
} from './options.js';
export { type ReadMessagesOptions, readHeader, readMessages } from './reader.js';
export { backend, FILE_SUPPORTS, FileStreamer } from './streamer.js';
