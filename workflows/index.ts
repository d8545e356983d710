// The worker's workflowsPath entry: every workflow type this worker runs.
export { processEvent } from './processEvent';
