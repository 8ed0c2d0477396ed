// Benchmark of the file backend: write and read 1M messages of 100 B, next to a raw
// fs.createWriteStream write of the same bytes. Run with `pnpm bench` (builds first) or
// `node bench/run.mjs [count]` after `npx tsc -b`.
import {
  createWriteStream,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { backend, readMessages } from '../dist/index.js';
import { LogWriter } from '../dist/writer.js';

const COUNT = Number(process.argv[2] ?? 1_000_000);
const PAYLOAD = Buffer.alloc(100, 'x');
const dir = mkdtempSync(join(tmpdir(), 'streamer-file-bench-'));
const rows = [];

function row(name, seconds, bytes, baseline) {
  const mbs = bytes / 1e6 / seconds;
  rows.push({
    name,
    'msgs/s': Math.round(COUNT / seconds).toLocaleString('en-US'),
    'MB/s': mbs.toFixed(1),
    'vs raw': baseline ? `${(mbs / baseline).toFixed(2)}x` : '',
  });
  return mbs;
}

async function timed(fn) {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e9;
}

function rawWrite(path, chunks) {
  return new Promise((resolve, reject) => {
    const out = createWriteStream(path);
    out.on('error', reject);
    let i = 0;
    const pump = () => {
      while (i < chunks.length) if (!out.write(chunks[i++])) return out.once('drain', pump);
      out.end(resolve);
    };
    pump();
  });
}

try {
  // The producer API: un-awaited sends, pausing at the high-water mark; end() includes fsync.
  const path = join(dir, 'bench.ss');
  const streamer = await backend.connect([pathToFileURL(path)], { createIfNotExists: true });
  const write = await timed(async () => {
    const producer = await streamer.createProducer('bench');
    for (let i = 0; i < COUNT; i++) {
      if (producer.pending >= 10_000) await producer.ready();
      producer.send(PAYLOAD);
    }
    await producer.end();
  });
  const size = statSync(path).size;

  // Raw baselines: the same bytes, once as one write() per message, once in 64 KiB chunks.
  const bytes = readFileSync(path);
  const perMessage = [];
  const step = Math.floor((bytes.length - 128) / COUNT);
  for (let at = 128; at < bytes.length; at += step) perMessage.push(bytes.subarray(at, at + step));
  const rawMessages = await timed(() => rawWrite(join(dir, 'raw1.bin'), perMessage));
  const bulk = [];
  for (let at = 0; at < bytes.length; at += 65536) bulk.push(bytes.subarray(at, at + 65536));
  const rawBulk = await timed(() => rawWrite(join(dir, 'raw2.bin'), bulk));

  // The package's writer without the producer API on top: what the core's per-send bookkeeping costs.
  const alone = join(dir, 'alone.ss');
  writeFileSync(alone, '');
  const writerAlone = await timed(async () => {
    const writer = await LogWriter.open(alone, { beaconInterval: 1 << 20, fileSizeLimit: 2 ** 40 });
    for (let i = 0; i < COUNT; i++) {
      writer.append('bench', 0, undefined, PAYLOAD);
      if (i % 10_000 === 0) await writer.flush();
    }
    await writer.close(false);
  });

  const raw = row('raw createWriteStream, one write() per message', rawMessages, size);
  row('raw createWriteStream, 64 KiB writes', rawBulk, size);
  row('file producer: send() x N, end() (fsync)', write, size, raw);
  row('file writer alone (no producer API), close() (fsync)', writerAlone, size, raw);

  let n = 0;
  const replay = await timed(async () => {
    for await (const _ of readMessages(path)) n++;
  });
  if (n !== COUNT) throw new Error(`readMessages read ${n} of ${COUNT}`);
  row('readMessages() (replay)', replay, size);

  n = 0;
  const consume = await timed(async () => {
    const consumer = await streamer.createConsumer('bench', {
      start: 'earliest',
      follow: false,
      batchSize: 1000,
    });
    for await (const _ of consumer) n++;
  });
  if (n !== COUNT) throw new Error(`the consumer read ${n} of ${COUNT}`);
  row('consumer (earliest, follow: false), for await', consume, size);

  // Opening the written file again for appending: state comes from the last beacons.
  const reopen = await timed(async () => {
    const producer = await streamer.createProducer('bench');
    await producer.end();
  });
  await streamer.disconnect();

  console.log(
    `file backend: ${COUNT.toLocaleString('en-US')} messages of 100 B (${(size / 1e6).toFixed(1)} MB file), ` +
      `Node ${process.version}, ${new Date().toISOString().slice(0, 10)}`,
  );
  console.table(rows);
  console.log(
    `opening the ${(size / 1e6).toFixed(0)} MB file again to append: ${(reopen * 1000).toFixed(1)} ms`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
