/**
 * Repair All on a cluster whose full sync is running (#21): it waits for the sync to end, since
 * the findings it would repair are not all known before, reporting "waiting for the sync (37%)";
 * then the run goes on through the usual guard (`RepairRunner.applyAllSafe`).
 *
 * Single repairs do not wait: their plan is the one the user saw on the model the sync replaces,
 * so they are refused as before, and planned again on the new model.
 *
 * No `vscode-languageserver` here: the CLI uses this module too.
 */
import { percentDone } from '../protocol';
import type { ClusterEntry } from './cluster';

/** What the wait uses of `RepairHooks` (repair-runner.ts), which imports this module. */
interface WaitHooks {
  cancelled?(): boolean;
  progress?(done: number, total: number, message: string): void;
}

/**
 * How often the wait looks at the sync's progress and at a cancel (`RepairHooks.cancelled` is
 * asked, it does not call back); the sync's end wakes it at once.
 */
const SYNC_WAIT_TICK_MS = 200;

/**
 * Waits while `c` syncs. Undefined: go on (no sync was running, or it ended with the cluster
 * live). Else why not, and nothing was sent: cancelled while waiting, the sync failed, or the
 * cluster was disconnected meanwhile (`stillConnected` says it is no longer the workspace's).
 */
export async function waitForSync(
  c: ClusterEntry,
  hooks: WaitHooks,
  log: (message: string) => void,
  stillConnected: () => boolean,
): Promise<string | undefined> {
  const session = c.session;
  if (session.state !== 'syncing') return undefined;
  log(`[${c.name}] Repair All waits for the sync to end`);
  const cancelled = `Cancelled while waiting for the sync of ${c.name}; nothing was sent`;
  let said = '';
  for (;;) {
    if (hooks.cancelled?.()) return cancelled;
    const progress = session.syncProgress;
    const message = `waiting for the sync${progress ? ` (${percentDone(progress)}%)` : ''}`;
    // No share of the repair is done yet: 0%, with the sync's own percentage in words.
    if (message !== said) hooks.progress?.(0, 1, (said = message));
    // A sync that ends with a gap runs again at once: still waiting then.
    if ((await session.waitFor(() => session.state !== 'syncing', SYNC_WAIT_TICK_MS)) && session.state !== 'syncing') break;
  }
  if (hooks.cancelled?.()) return cancelled;
  if (!stillConnected()) return `Refused: ${c.name} was disconnected while waiting for its sync; nothing was sent`;
  if (session.state === 'live') return undefined;
  return `Refused: the sync of ${c.name} failed (${session.error ?? `the cluster is ${session.state}`}); nothing was sent`;
}
