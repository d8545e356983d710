/**
 * The producer's request limits as the platform runs them by default: read from the config's own
 * defaults (MAX_EVENT_BYTES, MAX_BATCH_EVENTS, MAX_BATCH_BYTES, MAX_FUTURE_SKEW_SECONDS), so a
 * changed default changes every test that builds an app or validates with them.
 */
import { loadConfig } from '../../src/platform/config';

export const LIMITS = loadConfig({}).limits;
