/**
 * Ceiling workflows for `npm run bench` (bench/pipeline.ts): what the same Temporal server does
 * per second with no real work, to compare the pipeline against. Workflow-safe imports only.
 */
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';

export interface NoopActivities {
  noop(): Promise<void>;
}

const regular = proxyActivities<NoopActivities>({ startToCloseTimeout: '30s' });
const local = proxyLocalActivities<NoopActivities>({ startToCloseTimeout: '30s' });

/** One workflow task, nothing else: the server's cost of a run. */
export async function bareWorkflow(): Promise<void> {}

/** processEvent's shape before the fast path: two regular activities side by side. */
export async function twoActivitiesWorkflow(): Promise<void> {
  await Promise.all([regular.noop(), regular.noop()]);
}

/** processEvent's shape with the fast path: two local activities in the first workflow task. */
export async function twoLocalActivitiesWorkflow(): Promise<void> {
  await Promise.all([local.noop(), local.noop()]);
}
