/** The `events status` report read as an operator reads its table: each service or process by name, up or down. */
import type { StatusReport } from '../../src/ops/status';

/** `['kafka up', 'temporal down', …]`, in the report's order. */
export const upOrDown = (probes: StatusReport['services'] | StatusReport['processes']): string[] => probes.map((p) => `${p.name} ${p.ok ? 'up' : 'down'}`);
