/**
 * The one way a platform process starts and ends (producer, bridge, worker, processor, GraphQL,
 * provisioning, the events CLI):
 *  - an invalid configuration stops it before anything starts, naming the variable (exit 78);
 *  - SIGINT/SIGTERM call the process's own `stop` once (it drains: finishes in-flight work,
 *    flushes, commits, closes its clients); a signal during startup waits for startup to finish;
 *    further signals are ignored while it drains;
 *  - it exits with `done`'s code (0 when `done` gives none, or when there is no `done` and `stop`
 *    finished; 130/143 for a signal to a process with nothing to drain), 1 when startup, `done`
 *    or `stop` failed, with one clean line
 *    `<name> failed: <message>` on stderr (the stack too with LOG_LEVEL=debug or trace);
 *  - an unhandled rejection or exception is a failure like any other, never a silent hang.
 */
import type { Config } from './config';
import { ConfigError, configErrorText, loadConfig } from './config';

export const EXIT_CODES = { ok: 0, failed: 1, config: 78 } as const;

/** What a started process hands back. */
export interface Running {
  /** Drains and closes everything; called once, on the first SIGINT/SIGTERM. */
  stop?(signal: NodeJS.Signals): Promise<void>;
  /** Settles when the process's work is over (a one-shot command, or a service that ended on its own). */
  done?: Promise<number | void>;
}

/** The parts of `process` runMain uses, replaceable in tests. */
export interface ProcessLike {
  env: NodeJS.ProcessEnv;
  on(event: 'SIGINT' | 'SIGTERM', listener: () => void): unknown;
  on(event: 'unhandledRejection' | 'uncaughtException', listener: (err: unknown) => void): unknown;
  exit(code: number): void;
  stderr: { write(text: string): unknown };
}

export function describeFailure(name: string, err: unknown, verbose: boolean): string {
  const e = err instanceof Error ? err : new Error(String(err));
  const cause = e.cause instanceof Error && !e.message.includes(e.cause.message) ? ` (${e.cause.message})` : '';
  return `${name} failed: ${e.message || e.name}${cause}\n${verbose && e.stack ? `${e.stack}\n` : ''}`;
}

/** Runs `start` as process `name`; resolves with the exit code it gave to `proc.exit`. */
export function runMain(name: string, start: (config: Config) => Promise<Running>, proc: ProcessLike = process): Promise<number> {
  return new Promise<number>((resolve) => {
    let exited = false;
    const exit = (code: number) => {
      if (exited) return;
      exited = true;
      resolve(code);
      proc.exit(code);
    };
    let verbose = false;
    const fail = (err: unknown) => {
      proc.stderr.write(describeFailure(name, err, verbose));
      exit(EXIT_CODES.failed);
    };
    proc.on('unhandledRejection', fail);
    proc.on('uncaughtException', fail);

    let config: Config;
    try {
      config = loadConfig(proc.env);
    } catch (err) {
      if (!(err instanceof ConfigError)) return fail(err);
      proc.stderr.write(configErrorText(err));
      return exit(EXIT_CODES.config);
    }
    verbose = config.logLevel === 'debug' || config.logLevel === 'trace';

    let signalled: NodeJS.Signals | undefined;
    let running: Running | undefined;
    let stopping = false;
    const stop = () => {
      if (stopping || !running || !signalled) return;
      stopping = true;
      // Nothing to drain (a one-shot command): end at once, as an interrupted command (128 + n).
      if (!running.stop) return exit(signalled === 'SIGINT' ? 130 : 143);
      running.stop(signalled).then(
        // With a `done`, its settling says how the process ends; without one, stopping is the end.
        () => (running?.done ? undefined : exit(EXIT_CODES.ok)),
        fail,
      );
    };
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      proc.on(signal, () => {
        signalled ??= signal;
        stop();
      });
    }

    start(config).then((started) => {
      running = started;
      started.done?.then((code) => exit(code ?? EXIT_CODES.ok), fail);
      stop(); // a signal that came during startup
    }, fail);
  });
}
