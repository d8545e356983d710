/**
 * `npm run bench`: throughput of the producer, of the bridge and of the whole durable path
 * against the real local stack (`npm run stack:up` first). Each figure is reported against a
 * baseline measured in the same run on the same machine.
 *
 *   npm run bench                      everything
 *   npm run bench -- --quick           smaller rounds, without the pipeline's lever-by-lever rounds
 *   npm run bench -- --levers          with them (the default of a full run)
 *   npm run bench -- --only pipeline   one part: producer, bridge, graphql, pipeline, counts or profiles
 *                                      (profiles: the defaults on the default and the cluster stack)
 */
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { benchBridge } from './bridge';
import { benchCounts } from './counts';
import { benchGraphql } from './graphql';
import { benchPipeline } from './pipeline';
import { benchProducer } from './producer';
import { benchProfiles } from './profiles';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, levers: { type: 'boolean' }, only: { type: 'string' } } });
  const quick = values.quick;
  const parts = {
    producer: () => benchProducer({ quick }),
    bridge: () => benchBridge({ quick }),
    graphql: () => benchGraphql({ quick }),
    pipeline: () => benchPipeline({ quick, ...(values.levers !== undefined && { levers: values.levers }) }),
    counts: () => benchCounts({ quick }),
    profiles: () => benchProfiles({ quick }),
  };
  if (values.only !== undefined && !(values.only in parts)) throw new Error(`--only must be one of ${Object.keys(parts).join(', ')}, got ${values.only}`);
  const started = performance.now();
  console.log(
    `npm run bench${values.quick ? ' --quick' : ''}: ${new Date().toISOString().slice(0, 10)}, ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, local stack (Temporal dev server, Kafka, dynalite, versitygw) on the same machine`,
  );
  for (const [name, run] of Object.entries(parts)) if (values.only === undefined || values.only === name) await run();
  console.log(`\nbench took ${((performance.now() - started) / 1000).toFixed(0)} s`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error((err as Error).message);
    process.exit(1);
  },
);
