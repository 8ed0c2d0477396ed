// A group member running consumer.run() in its own process, for the crash tests: the parent
// kills it, or it kills itself, with messages in flight. Uses the built package, as an app would.
// Prints one line per event: "ready", "start <text> <deliveryCount>", "done <text>".
// argv: url key JSON-consumer-options JSON-run-options behaviour
//   behaviour 'poison': a message 'poison' commits what is done, then kills this process.
//   behaviour 'hang': every handler waits forever (killed by the parent).
import { backend } from '../../dist/index.js';

const [url, key, consumerJson, runJson, behaviour] = process.argv.slice(2);
const streamer = await backend.connect([new URL(url)], {});
const consumer = await streamer.createConsumer(key, JSON.parse(consumerJson));
const say = (line) => process.stdout.write(`${line}\n`);

const run = consumer.run({
  ...JSON.parse(runJson),
  eachMessage: async (message, { deliveryCount }) => {
    const text = message.text();
    say(`start ${text} ${deliveryCount}`);
    if (behaviour === 'hang') await new Promise(() => {});
    if (text === 'poison') {
      // A crash after the work before it was committed: only the poison message is in doubt.
      await consumer.commit();
      process.kill(process.pid, 'SIGKILL');
      await new Promise(() => {});
    }
    say(`done ${text}`);
  },
});
process.on('SIGTERM', async () => {
  await run.stop();
  await consumer.end();
  await streamer.disconnect();
  process.exit(0);
});
say('ready');
