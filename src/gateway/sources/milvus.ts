/**
 * Milvus's wal subsystem from the coordinators' etcd (layout: src/codecs/milvus.ts).
 *
 * Reads the streaming nodes' sessions, the coordinators' sessions and the
 * streaming coordinator's pchannel metas once, then watches them. A node's
 * version is its session's `mod_revision`; a WAL's is the newer of its
 * pchannel's and its node's session's; a channel meta's is its key's.
 *
 * `milvus.appends` is never read: in-flight appends (and a WAL's recovery) live
 * in the streaming node's memory, not in etcd. The collection is unavailable,
 * never an empty set; `wal/close-blocked` does not rest on it.
 *
 * Repairs: none is made through etcd, and both commands are refused with the
 * operator's remedy (docs/gateway.md, Milvus). Upstream (milvus-io/milvus):
 * - the pchannel keys are written only by the streaming coordinator, from its
 *   memory, with unconditional puts (`internal/metastore/kv/streamingcoord/
 *   kv_catalog.go`, `SavePChannels`), and read by it only when it starts
 *   (`internal/streamingcoord/server/balancer/channel/manager.go`,
 *   `RecoverChannelManager`); streaming nodes never read them. A write behind a
 *   running coordinator does nothing and is overwritten; one behind a stopped
 *   coordinator is reloaded at start and the balancer redoes the move itself,
 *   asking the stuck node to remove its WAL again (`balancer_impl.go`,
 *   `applyBalanceResultToStreamingNode`). No key reaches a node's in-memory
 *   appends, and no key fences a WAL: the term a node checks is the one in the
 *   coordinator's Assign/Remove calls.
 * - a session key goes only with its lease, when the process ends
 *   (`internal/util/sessionutil/session_util.go`); deleting a live node's key
 *   is nothing Milvus does, and the stuck process would keep its WAL open.
 * What ends the incident is ending the stuck process: its lease ends, the
 * coordinator's Remove answers ErrNotAlive and it finishes the assignment.
 */
import { errorText, type EtcdKv } from '../../codecs/etcd-kv';
import {
  channelMetaEntity,
  coordinatorRoleOf,
  coordinatorSessionPrefixes,
  decodePChannelMeta,
  decodeSession,
  deriveNodesAndWals,
  pchannelPrefix,
  sessionPrefix,
  type PChannelKv,
  type SessionKv,
  type SessionRecord,
} from '../../codecs/milvus';
import { compareVersions, type PChannelMeta, type RepairCommand, type RepairItemResult, type UnreadableRecord } from '../../protocol';
import { refuseAll } from '../../cluster/store-backend';
import type { GatewayConfig } from '../config';
import type { SourceContext, SubsystemSource } from '../source';
import { EtcdSource } from './etcd';
import { SYSTEMS } from '../../protocol/systems';

type MilvusConfig = NonNullable<GatewayConfig['milvus']>;

export const MILVUS_APPENDS_UNOBSERVABLE =
  "not in etcd: in-flight appends and a WAL's recovery live in the streaming node's memory (Milvus stores neither)";

export function createMilvusSource(config: MilvusConfig, _all: GatewayConfig): SubsystemSource {
  return new MilvusSource(config);
}

/** A coordinator session seen in etcd (the process runs: the key lives on its lease). */
interface CoordinatorSession {
  key: string;
  role: string;
  session: SessionRecord | undefined;
}

/** The operator's remedy for a stuck streaming node, with the pods named where the sessions say. */
function remedy(hosts: readonly string[]): string {
  const pods = hosts.length ? hosts.join(' ') : '<the stuck streaming node pod>';
  return (
    `end the stuck streaming node process: \`kubectl delete pod ${pods} --grace-period=0 --force\` (or restart it). ` +
    "Its session lease ends, the coordinator's Remove then answers ErrNotAlive and it assigns the channel to the new node " +
    '(after streaming.walBalancer.nodeLostGracePeriod where the version has it). Appends the node never acknowledged fail and clients retry.'
  );
}

/** Why the gateway refuses `command` now: the coordinator's state, then the remedy. */
export function milvusRefusal(
  command: 'milvus.cancelAppendsAndClose' | 'milvus.forceRemoveNode',
  coordinators: readonly CoordinatorSession[],
  hosts: readonly string[],
): string {
  const what =
    command === 'milvus.cancelAppendsAndClose'
      ? "a node's in-flight appends are in its memory and no etcd key reaches them or fences its WAL (streaming nodes never read the pchannel keys)"
      : "a session key goes only with its lease when the process ends; deleting a live node's key is nothing Milvus does and leaves the stuck process serving its WAL";
  // 2.6's MixCoord also holds the legacy rootcoord/datacoord/querycoord keys on its lease: one entry per server.
  const byServer = new Map<string, string[]>();
  for (const c of coordinators) {
    const id = c.session ? ` server ${c.session.ServerID}` : '';
    byServer.set(id, [...(byServer.get(id) ?? []), c.role]);
  }
  const named = [...byServer].map(([id, roles]) => `${[...new Set(roles)].join('/')}${id}`).join(', ');
  const coordinator = coordinators.length
    ? `the streaming coordinator runs (session ${named}): ` +
      'it reads the pchannel keys only when it starts and saves them from memory, so a write there does nothing and is overwritten'
    : 'no coordinator session is in etcd (mixcoord, rootcoord, datacoord, streamingcoord): when it starts it reloads the pchannel keys and redoes the move itself';
  return `${coordinator}; ${what}. Remedy: ${remedy(hosts)}`;
}

class MilvusSource extends EtcdSource implements SubsystemSource {
  readonly subsystem = 'wal' as const;
  readonly collections = ['milvus.nodes', 'milvus.wals', 'milvus.appends', 'milvus.channelMetas'] as const;
  readonly commands = ['milvus.cancelAppendsAndClose', 'milvus.forceRemoveNode'] as const;
  private readonly sessionsAt: string;
  private readonly pchannelsAt: string;
  private readonly stopSeen = new Map<number, number>();
  private refusals = new Map<string, string>();

  constructor(private readonly config: MilvusConfig) {
    const sessionsAt = sessionPrefix(config.rootPath, config.metaSubPath);
    const pchannelsAt = pchannelPrefix(config.rootPath, config.metaSubPath);
    super(config.etcd, [sessionsAt, pchannelsAt, ...coordinatorSessionPrefixes(config.rootPath, config.metaSubPath)]);
    this.sessionsAt = sessionsAt;
    this.pchannelsAt = pchannelsAt;
  }

  override async start(ctx: SourceContext): Promise<void> {
    ctx.collectionHealth('milvus.appends', { state: 'unavailable', reason: MILVUS_APPENDS_UNOBSERVABLE });
    // Until the first read says whether the coordinator runs, both are refused (no write is ever made).
    this.setRefusals(ctx, [], []);
    await super.start(ctx);
  }

  private setRefusals(ctx: SourceContext, coordinators: readonly CoordinatorSession[], hosts: readonly string[]): void {
    this.refusals = new Map();
    for (const command of this.commands) {
      const reason = milvusRefusal(command, coordinators, hosts);
      this.refusals.set(command, reason);
      ctx.refusing(command, reason);
    }
  }

  protected refresh(kvs: ReadonlyMap<string, EtcdKv>): void {
    const ctx = this.ctx;
    if (!ctx) return;
    const sessions = new Map<number, SessionKv>();
    const metas = new Map<string, PChannelKv>();
    const coordinators: CoordinatorSession[] = [];
    const badNodes: UnreadableRecord[] = [];
    const badMetas: UnreadableRecord[] = [];
    const channelMetas: PChannelMeta[] = [];
    for (const kv of kvs.values()) {
      if (kv.key.startsWith(this.sessionsAt)) {
        try {
          const session = decodeSession(kv.value);
          if (`${this.sessionsAt}${session.ServerID}` !== kv.key) throw new Error(`ServerID ${session.ServerID} does not match the key`);
          sessions.set(session.ServerID, { kv, session });
        } catch (err) {
          badNodes.push({ collection: 'milvus.nodes', key: kv.key.slice(0, 1024), reason: errorText(err) });
        }
      } else if (kv.key.startsWith(this.pchannelsAt)) {
        try {
          const meta = decodePChannelMeta(kv.value);
          if (`${this.pchannelsAt}${meta.channel}` !== kv.key) throw new Error(`channel ${meta.channel} does not match the key`);
          channelMetas.push(channelMetaEntity(meta, kv.modRevision));
          metas.set(meta.channel, { kv, meta });
        } catch (err) {
          badMetas.push({ collection: 'milvus.channelMetas', key: kv.key.slice(0, 1024), reason: errorText(err) });
        }
      } else {
        const role = coordinatorRoleOf(kv.key, this.config.rootPath, this.config.metaSubPath);
        if (!role) continue; // another key under a coordinator prefix (none upstream writes)
        let session: SessionRecord | undefined;
        try {
          session = decodeSession(kv.value);
        } catch {
          session = undefined; // present on its lease all the same: the coordinator runs
        }
        coordinators.push({ key: kv.key, role, session });
      }
    }
    const now = this.now();
    for (const [id, s] of sessions) {
      if (s.session.Stopping && !this.stopSeen.has(id)) this.stopSeen.set(id, now);
      if (!s.session.Stopping) this.stopSeen.delete(id);
    }
    for (const id of this.stopSeen.keys()) if (!sessions.has(id)) this.stopSeen.delete(id);
    const { nodes, wals } = deriveNodesAndWals(sessions.values(), metas.values(), {
      stopSeenAt: (id) => this.stopSeen.get(id) ?? now,
      gracePeriodSeconds: this.config.gracePeriodSeconds,
    });
    ctx.unreadable('milvus.nodes', badNodes);
    ctx.unreadable('milvus.channelMetas', badMetas);
    ctx.replace('milvus.nodes', nodes);
    ctx.replace('milvus.channelMetas', channelMetas);
    ctx.replace('milvus.wals', wals);
    ctx.version(this.versionOf(sessions, coordinators));
    const stopping = [...sessions.values()].filter((s) => s.session.Stopping);
    this.setRefusals(
      ctx,
      coordinators.sort((a, b) => a.key.localeCompare(b.key)),
      stopping.map((s) => s.session.HostName).filter((h): h is string => !!h),
    );
  }

  /**
   * The version the sessions say (`SessionRaw.Version`, the build's `common.Version`): the lowest
   * streaming node's (during a rolling upgrade the old node is the one that can hang), else the
   * coordinator's.
   */
  private versionOf(sessions: ReadonlyMap<number, SessionKv>, coordinators: readonly CoordinatorSession[]) {
    let best: { version: string; from: string } | undefined;
    for (const s of sessions.values()) {
      if (!s.session.Version) continue;
      if (!best || (compareVersions(s.session.Version, best.version) ?? 0) < 0)
        best = { version: s.session.Version, from: `etcd ${s.kv.key} (Version)` };
    }
    if (!best) {
      const c = coordinators.find((x) => x.session?.Version);
      if (c) best = { version: c.session!.Version, from: `etcd ${c.key} (Version)` };
    }
    return best && { system: SYSTEMS.milvus.title, ...best };
  }

  async repair(command: RepairCommand, _preconditions: unknown): Promise<RepairItemResult[]> {
    if (command.command !== 'milvus.cancelAppendsAndClose' && command.command !== 'milvus.forceRemoveNode') {
      throw new Error(`milvus cannot run ${command.command}`);
    }
    return refuseAll(command, this.refusals.get(command.command) ?? milvusRefusal(command.command, [], []));
  }
}
