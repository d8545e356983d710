/**
 * `npm run bench`: throughput of the producer, of the bridge and of the whole durable path
 * against the real local stack (`npm run stack:up` first). Each figure is reported against a
 * baseline measured in the same run on the same machine.
 *
 *   npm run bench                      everything
 *   npm run bench -- --quick           smaller rounds, without the pipeline's lever-by-lever rounds
 *   npm run bench -- --levers          with them (the default of a full run)
 *   npm run bench -- --only pipeline   one part: producer, bridge or pipeline
 */
import { parseArgs } from 'node:util';
import { benchBridge } from './bridge';
import { benchPipeline } from './pipeline';
import { benchProducer } from './producer';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, levers: { type: 'boolean' }, only: { type: 'string' } } });
  const parts = { producer: () => benchProducer(), bridge: () => benchBridge(), pipeline: () => benchPipeline({ quick: values.quick, ...(values.levers !== undefined && { levers: values.levers }) }) };
  if (values.only !== undefined && !(values.only in parts)) throw new Error(`--only must be one of ${Object.keys(parts).join(', ')}, got ${values.only}`);
  for (const [name, run] of Object.entries(parts)) if (values.only === undefined || values.only === name) await run();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error((err as Error).message);
    process.exit(1);
  },
);
