// A consumer in its own process for the live-tail test: tails a stream file from its end and
// prints each message as "<text> <receive time ms>". Uses the built package, as an app would.
import { pathToFileURL } from 'node:url';
import { backend } from '../../dist/index.js';

const [path, watch] = process.argv.slice(2);
const streamer = await backend.connect([pathToFileURL(path)], { watch: watch === 'true' });
const consumer = await streamer.createConsumer('live', { start: 'latest' });
process.stdout.write('ready\n');
for await (const message of consumer) process.stdout.write(`${message.text()} ${Date.now()}\n`);
