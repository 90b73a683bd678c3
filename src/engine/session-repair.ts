/**
 * Sending one repair over a session's link: at most once, and only to the incarnation of the
 * cluster it was planned on. A dropped link is waited out and the repair sent again with the same
 * `requestId` (the cluster's replay cache answers a repeat); a restarted cluster's cache is empty
 * and its versions may repeat, so nothing is ever replayed there (`IncarnationChangedError`).
 *
 * No `vscode-languageserver` here: the CLI uses this module too.
 */
import { ErrorCodes, RpcException, type ConnectionState, type RepairParams, type RepairResult } from '../protocol';
import type { SessionCore } from './link';

/**
 * A repair was planned on another incarnation of the cluster (it restarted or
 * was reset since): it is never sent to, or replayed on, the new one.
 */
export class IncarnationChangedError extends Error {
  constructor(
    readonly plannedOn: string,
    readonly now: string | undefined,
  ) {
    super(`the cluster restarted since the repair was planned (incarnation ${plannedOn}, now ${now ?? 'unknown'}); nothing more was sent`);
    this.name = 'IncarnationChangedError';
  }
}

/** Thrown by operations that need a live link. */
export class NotLiveError extends Error {
  constructor(state: ConnectionState) {
    super(
      state === 'stale'
        ? 'the connection to the cluster was lost; the view is stale and nothing is repaired from stale state'
        : `the cluster is ${state}, not live`,
    );
    this.name = 'NotLiveError';
  }
}

/** What sending a repair needs of its session (`ClusterSession` builds it). */
export interface RepairHost extends SessionCore {
  /** The incarnation of the cluster the model was synced from, if any. */
  modelIncarnation(): string | undefined;
  /** `ClusterSession.waitFor`. */
  waitFor(test: () => boolean, timeoutMs: number): Promise<boolean>;
}

/** `ClusterSession.sendRepair`. */
export async function sendRepair(host: RepairHost, params: RepairParams, deadlineMs: number): Promise<RepairResult> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    if (host.disposed()) throw new Error('the cluster was disconnected');
    const link = host.link();
    if (host.state() !== 'live' || !link) {
      const ok = await host.waitFor(() => host.state() === 'live' || host.disposed(), deadline - Date.now());
      if (!ok) throw new NotLiveError(host.state());
      continue;
    }
    // Live means the model was synced over this link, so its status says which incarnation the cluster
    // is now: a reset changes it with the connection still up, and the `initialize` reply is then old.
    const now = host.modelIncarnation() ?? link.init.status.incarnation;
    if (now !== params.incarnation) throw new IncarnationChangedError(params.incarnation, now);
    try {
      return await link.request('repair', params);
    } catch (e) {
      if (e instanceof RpcException && e.code === ErrorCodes.WrongIncarnation)
        throw new IncarnationChangedError(params.incarnation, undefined);
      // A refusal by the cluster is an answer; only a lost link is worth a retry.
      if (e instanceof RpcException || (host.link() === link && host.state() === 'live')) throw e;
      host.log(`[${host.name}] repair ${params.requestId}: link lost, retrying after reconnect`);
    }
  }
}
