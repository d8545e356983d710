/**
 * `npm run bench`: throughput of the producer and of the bridge against the real local stack
 * (`npm run stack:up` first). Each figure is reported against a baseline measured in the same
 * run on the same machine.
 */
import { benchBridge } from './bridge';
import { benchProducer } from './producer';

async function main(): Promise<void> {
  await benchProducer();
  await benchBridge();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error((err as Error).message);
    process.exit(1);
  },
);
