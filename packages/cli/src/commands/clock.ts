import { setTimeout as delay } from 'node:timers/promises';
import type { Command } from 'commander';
import { duration, oneStream, positive, streamTarget } from '../args.js';
import { usage } from '../errors.js';
import { open, stopSignal } from '../streamers.js';

interface ClockOptions {
  interval: string;
  count?: string;
}

export function clockCommand(program: Command): void {
  program
    .command('clock')
    .description('send a tick message every interval: {"tick":n,"time":"…"} (for demos and tests)')
    .argument('<url>', 'stream URL naming one stream, e.g. redis://localhost:6379/clock')
    .option('--interval <duration>', 'time between ticks: 500ms, 1s, 2m', '1s')
    .option('--count <n>', 'stop after n ticks')
    .action((url: string, options: ClockOptions) => clock(url, options));
}

async function clock(url: string, o: ClockOptions): Promise<void> {
  const target = streamTarget(url);
  const stream = oneStream(target, url);
  const { interval, count } = usage(() => ({
    interval: duration('--interval', o.interval),
    count: positive('--count', o.count),
  }));
  const streamer = await open(target.streamer, target.protocol, { write: true });
  const stop = stopSignal();
  try {
    const producer = await streamer.createProducer(stream);
    const start = Date.now();
    for (let tick = 0; count === undefined || tick < count; tick++) {
      // Ticks keep to the schedule: a slow send does not push the later ones back.
      const due = start + tick * interval;
      if (due > Date.now()) {
        try {
          // A timer that keeps the process alive (core's sleep() does not, by design).
          await delay(due - Date.now(), undefined, { signal: stop.signal });
        } catch {
          break; // stopped by a signal
        }
      }
      if (stop.signal.aborted) break;
      await producer.send(JSON.stringify({ tick, time: new Date().toISOString() }));
    }
    await producer.end();
  } finally {
    stop.dispose();
    await streamer.disconnect();
  }
}
