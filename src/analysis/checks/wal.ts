/**
 * Milvus StreamingNode: a node asked to stop must reach Stopped within its
 * grace period; closing a WAL that is still recovering waits forever for the
 * appends blocked on recovery (milvus #41307).
 *
 * Where the node's memory is observed (the simulator), a WAL blocks the close
 * when it is recovering with appends in flight. Where only the store is
 * (a real cluster's etcd: `recovering`/`inFlightAppends` null), what can be
 * seen is the close itself: a WAL whose close was asked (the node is stopping,
 * or the coordinator still holds it in the channel's assignment `histories`)
 * and not confirmed, on a node Terminating past its grace period.
 */
import type { EntityRef, Finding, InFlightAppend, WalState } from '../../protocol';
import { formatCount, formatDuration, plural } from '../../protocol/format';
import type { ClusterModel } from '../model';
import { batchedOption, facts, factsPer, isAre, makeFinding, pushSample, ref, stillAt, TargetBatcher } from './common';

/** Whether the node's memory (recovery, appends in flight) was observed for this WAL. */
const observed = (w: WalState): w is WalState & { recovering: boolean; inFlightAppends: number } =>
  w.recovering !== null && w.inFlightAppends !== null;

/** A WAL that can hold its node's close: recovering with appends in flight, or (unobserved) closing unconfirmed. */
function blocksClose(w: WalState): boolean {
  return observed(w) ? w.recovering && w.inFlightAppends > 0 : w.closing;
}

/** `wal/close-blocked`: Terminating past the grace period with a WAL whose close cannot finish (or, on a store, is not confirmed). */
export function checkCloseBlockedWals(model: ClusterModel): Finding[] {
  const { collections, status } = model;
  const walsByNode = new Map<number, WalState[]>();
  for (const w of collections['milvus.wals'].values()) {
    if (!blocksClose(w)) continue;
    const list = walsByNode.get(w.serverId);
    if (list) list.push(w);
    else walsByNode.set(w.serverId, [w]);
  }
  if (walsByNode.size === 0) return [];
  const appendsByNode = new Map<number, InFlightAppend[]>();
  for (const a of collections['milvus.appends'].values()) {
    if (!walsByNode.has(a.serverId)) continue;
    const list = appendsByNode.get(a.serverId);
    if (list) list.push(a);
    else appendsByNode.set(a.serverId, [a]);
  }

  const fact = facts(status);
  const findings: Finding[] = [];
  for (const node of collections['milvus.nodes'].values()) {
    if (node.lifecycle !== 'Terminating' || node.stopRequestedAt === null) continue;
    const terminatingFor = status.time - node.stopRequestedAt;
    if (terminatingFor <= node.gracePeriodSeconds) continue;
    const wals = walsByNode.get(node.serverId);
    if (!wals) continue;
    const blockedChannels = new Set(wals.map((w) => w.channel));
    const appends = (appendsByNode.get(node.serverId) ?? []).filter((a) => blockedChannels.has(a.channel));
    const writing = appends.filter((a) => a.phase === 'writing').length;
    const seen = wals.filter(observed);
    const unseen = wals.filter((w) => !observed(w));
    const inFlight = seen.reduce((n, w) => n + w.inFlightAppends, 0);

    const samples: EntityRef[] = [ref('milvus.nodes', node)];
    for (const w of wals) pushSample(samples, 'milvus.wals', w);
    for (const a of appends) pushSample(samples, 'milvus.appends', a);
    // Both rest on the node's WALs being as seen: recovering, with these appends in flight (a WAL's
    // version moves when it finishes recovering or its in-flight count changes).
    const walsAsSeen = wals.map((w) => stillAt('milvus.wals', w));
    const cancel = new TargetBatcher('milvus.cancelAppendsAndClose', walsAsSeen);
    cancel.add(node);
    const remove = new TargetBatcher('milvus.forceRemoveNode', walsAsSeen);
    remove.add(node);
    const oldestAppend = appends.reduce<number | undefined>((t, a) => (t === undefined || a.startedAt < t ? a.startedAt : t), undefined);
    const age = formatDuration(terminatingFor);
    const grace = formatDuration(node.gracePeriodSeconds);

    findings.push(
      makeFinding('wal/close-blocked', {
        group: node.key,
        message:
          `StreamingNode ${node.serverId} (${node.address}, ${node.build}) has been Terminating for ${age} (grace ${grace}): ` +
          (unseen.length === 0
            ? `closing ${plural(wals.length, 'WAL')} waits for ${plural(inFlight, 'in-flight append')} that wait for recovery.`
            : `the close of ${plural(wals.length, 'WAL')} is not confirmed (the coordinator still holds ${wals.length === 1 ? 'it' : 'them'} in the assignment); ` +
              "recovery and in-flight appends are in the node's memory, not observable here."),
        count: wals.length,
        samples,
        anchor: ref('milvus.nodes', node),
        facts: [
          fact.entity(
            'milvus.nodes',
            node,
            `Kubernetes asked StreamingNode ${node.serverId} to stop at ${fact.at(node.stopRequestedAt)}: it has been Terminating for ${age}, past its grace period of ${grace}.`,
            { since: node.stopRequestedAt },
          ),
          ...factsPer(
            wals,
            (w) =>
              fact.entity(
                'milvus.wals',
                w,
                observed(w)
                  ? `WAL ${w.channel} (term ${w.term}) is recovering, ${w.closing ? 'its close waiting' : 'not closing yet'}, ` +
                      `with ${plural(w.inFlightAppends, 'append')} in flight.`
                  : `WAL ${w.channel} (term ${w.term}): its close was asked and is not confirmed` +
                      `${w.available ? '' : ' (the channel is assigned elsewhere, this node still in its assignment history)'}.`,
              ),
            (rest) =>
              fact.group(
                'milvus.wals',
                node.key,
                rest.length,
                rest[0]!.key,
                unseen.length === 0
                  ? `${plural(rest.length, 'other WAL')} of the node ${isAre(rest.length)} recovering with appends in flight.`
                  : `${plural(rest.length, 'other WAL')} of the node ${isAre(rest.length)} closing, unconfirmed.`,
              ),
          ),
          ...(seen.length === 0
            ? []
            : [
                fact.group(
                  'milvus.appends',
                  node.key,
                  appends.length,
                  appends[0]?.key,
                  `${plural(appends.length, 'append')} ${isAre(appends.length)} blocked on them: ${formatCount(appends.length - writing)} waiting for recovery, ${formatCount(writing)} writing` +
                    (oldestAppend === undefined ? '.' : ` (the oldest since ${fact.at(oldestAppend)}).`),
                  oldestAppend === undefined ? {} : { since: oldestAppend },
                ),
              ]),
        ],
        repairs: [
          ...batchedOption(
            {
              id: 'cancel-appends-and-close',
              title:
                unseen.length === 0
                  ? `Cancel the ${plural(inFlight, 'blocked append')} on StreamingNode ${node.serverId} and finish closing`
                  : `Cancel the blocked appends on StreamingNode ${node.serverId} and finish closing`,
              safety: 'safe',
              description:
                'Fails the in-flight appends so the WAL close completes and the node stops. Acknowledged data is ' +
                'already in the message queue; the cancelled appends were never acknowledged and clients retry them.',
            },
            cancel,
          ),
          ...batchedOption(
            {
              id: 'force-remove-node',
              title: `Force-remove StreamingNode ${node.serverId}`,
              safety: 'may-lose-data',
              // The same count as the preview's "deletes N in-flight appends": the appends the node holds.
              description:
                `Removes the node and reassigns its channels with term + 1, fencing the old owner. ` +
                (unseen.length > 0
                  ? "Its in-flight appends fail; they are in the node's memory, not observable here."
                  : `Its ${plural(appends.length, 'in-flight append')} ${appends.length === 1 ? 'fails' : 'fail'} (clients retry)` +
                    (writing === 0 ? '.' : `; ${formatCount(writing)} of them ${isAre(writing)} in phase 'writing' and may be lost.`)),
            },
            remove,
          ),
        ],
      }),
    );
  }
  return findings;
}
