/**
 * Mirroring the simulator into the real systems' own stores, in their
 * upstream layouts (the codecs in src/codecs/), so that a gateway reads an
 * incident the simulator's real mechanism produced from a real database.
 * A mirror writes the whole state once, then follows the change events.
 */
import type { EventsNotification } from '../../protocol';
import type { Simulator } from '../simulator';

export interface StoreMirror {
  /** What it writes to, for the log line ("etcd http://127.0.0.1:2379"). */
  readonly target: string;
  /** Writes the simulator's current state (replacing what the mirror wrote before). */
  sync(sim: Simulator): Promise<void>;
  /** Applies one batch of change events (a `reset` one means: sync again). */
  apply(sim: Simulator, events: EventsNotification): Promise<void>;
  close(): Promise<void>;
}

/**
 * Keeps every mirror in step with the simulator: a full sync first, then the
 * events in order, one batch at a time per mirror (a slow store delays only
 * its own mirror). Resolves once the first sync is done.
 */
export async function startMirrors(
  sim: Simulator,
  mirrors: readonly StoreMirror[],
  log: (m: string) => void,
): Promise<() => Promise<void>> {
  for (const m of mirrors) {
    await m.sync(sim);
    log(`mirroring into ${m.target}`);
  }
  const queues = mirrors.map(() => Promise.resolve());
  const unsubscribe = sim.onEvents((n) => {
    mirrors.forEach((m, i) => {
      queues[i] = queues[i]!.then(() => m.apply(sim, n)).catch((e) =>
        log(`mirror ${m.target}: ${e instanceof Error ? e.message : String(e)}`),
      );
    });
  });
  return async () => {
    unsubscribe();
    await Promise.all(queues);
    await Promise.all(mirrors.map((m) => m.close()));
  };
}
