/**
 * One profile's round of bench/profiles.ts, in a process of its own so that it has that profile's
 * configuration: this Temporal server's bare-workflow ceilings, then the defaults (2 processors as
 * `npm start` runs them, counting on). Prints its figures as one JSON line, last.
 *   infra/bin/node --import tsx bench/profileRound.ts EVENTS IDLE_EVENTS CEILING_RUNS
 */
import { benchCeilings, pipelineRound } from './pipeline';

export interface ProfileFigures {
  bare: number;
  bareEager: number;
  rate: number;
  completedP50: number;
  completedP95: number;
  completedP99: number;
}

async function main(): Promise<void> {
  const counts = process.argv.slice(2).map(Number);
  const [events, idle, ceilingRuns] = counts;
  if (counts.length !== 3 || !counts.every((n) => Number.isInteger(n) && n > 0) || !events || !idle || !ceilingRuns)
    throw new Error('usage: profileRound.ts EVENTS IDLE_EVENTS CEILING_RUNS (positive integers)');
  const ceilings = await benchCeilings(ceilingRuns, ['bare', 'bareEager']);
  const f = await pipelineRound('defaults', { processors: 2 }, events, idle);
  const figures: ProfileFigures = {
    bare: ceilings.bare.rate,
    bareEager: ceilings.bareEager.rate,
    rate: f.rate,
    completedP50: f.latency!.completedP50,
    completedP95: f.latency!.completedP95,
    completedP99: f.latency!.completedP99,
  };
  console.log(JSON.stringify(figures));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error((err as Error).message);
    process.exit(1);
  },
);
