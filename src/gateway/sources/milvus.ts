/**
 * Milvus's wal subsystem from the coordinators' etcd (layout: src/codecs/milvus.ts).
 *
 * Reads the streaming nodes' sessions and the streaming coordinator's
 * pchannel metas once, then watches them. A node's version is its session's
 * `mod_revision`; a WAL's is the newer of its pchannel's and its node's
 * session's; a channel meta's is its key's.
 *
 * Repairs, each a conditional transaction comparing the node's session and
 * every pchannel meta it rewrites (and the WALs the plan rested on):
 * - cancelAppendsAndClose (node Stopping only): what the coordinator writes
 *   once a WAL close finishes — each of the node's pchannels reassigned to a
 *   live node at term + 1 (ASSIGNING, the coordinator completes it), which
 *   fences the old WAL: its blocked appends fail and clients retry on the new
 *   owner. The stuck process itself is not in etcd; Kubernetes kills it.
 * - forceRemoveNode: the same, and the node's session is deleted (what its
 *   lease expiry does), so nothing routes to it any more.
 */
import { errorText, type EtcdKv } from '../../codecs/etcd-kv';
import {
  channelMetaEntity,
  decodePChannelMeta,
  decodeSession,
  deriveNodesAndWals,
  encodePChannelMeta,
  pchannelPrefix,
  sessionPrefix,
  type PChannelKv,
  type SessionKv,
} from '../../codecs/milvus';
import { type PChannelMeta, type Precondition, type RepairCommand, type RepairItemResult, type UnreadableRecord } from '../../protocol';
import type { GatewayConfig } from '../config';
import type { SourceContext, SubsystemSource } from '../source';
import { EtcdSource, stillAtVersion, type Compare, type TxnOp } from './etcd';
import { runConditional, type PlannedWrite } from './etcd-repair';

type MilvusConfig = NonNullable<GatewayConfig['milvus']>;

export function createMilvusSource(config: MilvusConfig, _all: GatewayConfig): SubsystemSource {
  return new MilvusSource(config);
}

class MilvusSource extends EtcdSource implements SubsystemSource {
  readonly subsystem = 'wal' as const;
  readonly collections = ['milvus.nodes', 'milvus.wals', 'milvus.appends', 'milvus.channelMetas'] as const;
  readonly commands = ['milvus.cancelAppendsAndClose', 'milvus.forceRemoveNode'] as const;
  private readonly sessionsAt: string;
  private readonly pchannelsAt: string;
  private readonly stopSeen = new Map<number, number>();
  private sessions = new Map<number, SessionKv>();
  private metas = new Map<string, PChannelKv>();

  constructor(private readonly config: MilvusConfig) {
    const sessionsAt = sessionPrefix(config.rootPath, config.metaSubPath);
    const pchannelsAt = pchannelPrefix(config.rootPath, config.metaSubPath);
    super(config.etcd, [sessionsAt, pchannelsAt]);
    this.sessionsAt = sessionsAt;
    this.pchannelsAt = pchannelsAt;
  }

  override async start(ctx: SourceContext): Promise<void> {
    // Milvus never stores appends in etcd: the collection is empty, and says so in docs/gateway.md.
    ctx.replace('milvus.appends', []);
    await super.start(ctx);
  }

  protected refresh(kvs: ReadonlyMap<string, EtcdKv>): void {
    const ctx = this.ctx;
    if (!ctx) return;
    const sessions = new Map<number, SessionKv>();
    const metas = new Map<string, PChannelKv>();
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
      }
    }
    const now = this.now();
    for (const [id, s] of sessions) {
      if (s.session.Stopping && !this.stopSeen.has(id)) this.stopSeen.set(id, now);
      if (!s.session.Stopping) this.stopSeen.delete(id);
    }
    for (const id of this.stopSeen.keys()) if (!sessions.has(id)) this.stopSeen.delete(id);
    this.sessions = sessions;
    this.metas = metas;
    const { nodes, wals } = deriveNodesAndWals(sessions.values(), metas.values(), {
      stopSeenAt: (id) => this.stopSeen.get(id) ?? now,
      gracePeriodSeconds: this.config.gracePeriodSeconds,
    });
    ctx.unreadable('milvus.nodes', badNodes);
    ctx.unreadable('milvus.channelMetas', badMetas);
    ctx.replace('milvus.nodes', nodes);
    ctx.replace('milvus.channelMetas', channelMetas);
    ctx.replace('milvus.wals', wals);
  }

  /** The keys an entity of this source was built from. */
  private keysOf(collection: string, key: string): string[] | undefined {
    if (collection === 'milvus.nodes') {
      const id = /^node-(\d+)$/.exec(key);
      const s = id ? this.sessions.get(Number(id[1])) : undefined;
      return s && [s.kv.key];
    }
    if (collection === 'milvus.channelMetas') {
      const m = this.metas.get(key);
      return m && [m.kv.key];
    }
    if (collection === 'milvus.wals') {
      const m = /^node-(\d+)\/(.+)$/.exec(key);
      const s = m && this.sessions.get(Number(m[1]));
      const meta = m && this.metas.get(m[2]!);
      return s && meta ? [s.kv.key, meta.kv.key] : undefined;
    }
    return undefined;
  }

  private preconditionCompares(preconditions: readonly Precondition[]): { compares: Compare[]; failed?: string } {
    const compares: Compare[] = [];
    for (const p of preconditions) {
      if ('epoch' in p) continue;
      const e = this.ctx?.get(p.collection, p.key);
      if ('absent' in p) {
        if (e) return { compares, failed: `${p.collection} ${p.key} exists` };
        continue;
      }
      const ks = this.keysOf(p.collection, p.key);
      if (!e || e.version !== p.version || !ks) return { compares, failed: `${p.collection} ${p.key} is no longer at version ${p.version}` };
      compares.push(...stillAtVersion(ks, p.version));
    }
    return { compares };
  }

  async repair(command: RepairCommand, preconditions: readonly Precondition[]): Promise<RepairItemResult[]> {
    if (command.command !== 'milvus.cancelAppendsAndClose' && command.command !== 'milvus.forceRemoveNode') {
      throw new Error(`milvus cannot run ${command.command}`);
    }
    const remove = command.command === 'milvus.forceRemoveNode';
    const seen = new Set<string>();
    const targets = command.targets.filter((t) => (seen.has(t.key) ? false : (seen.add(t.key), true)));
    const pre = this.preconditionCompares(preconditions);
    if (pre.failed) return targets.map((t) => ({ key: t.key, status: 'refused', message: `not applied: ${pre.failed}; re-check and plan again` }));
    const results = new Map<string, RepairItemResult>();
    const writes: PlannedWrite[] = [];
    // Channels move to the least-loaded live node that is not stopping (and not a target).
    const targetIds = new Set(targets.map((t) => Number(t.key.replace(/^node-/, ''))));
    const load = new Map<number, number>();
    for (const s of this.sessions.values()) if (!s.session.Stopping && !targetIds.has(s.session.ServerID)) load.set(s.session.ServerID, 0);
    for (const m of this.metas.values()) if (m.meta.node && load.has(m.meta.node.serverId)) load.set(m.meta.node.serverId, load.get(m.meta.node.serverId)! + 1);
    for (const t of targets) {
      const id = /^node-(\d+)$/.exec(t.key);
      const s = id ? this.sessions.get(Number(id[1])) : undefined;
      if (!s) {
        results.set(t.key, { key: t.key, status: 'refused', message: `${t.key} has no session in etcd (stopped or removed); nothing changed` });
        continue;
      }
      if (s.kv.modRevision !== t.version) {
        results.set(t.key, { key: t.key, status: 'refused', message: `${t.key} moved on (expected revision ${t.version}, its session is at ${s.kv.modRevision}); nothing changed, re-check and plan again` });
        continue;
      }
      if (!remove && !s.session.Stopping) {
        results.set(t.key, { key: t.key, status: 'refused', message: `${t.key} is Running; it was not asked to stop, so there is no close to finish` });
        continue;
      }
      const compares: Compare[] = stillAtVersion([s.kv.key], t.version);
      const ops: TxnOp[] = [];
      const moves: string[] = [];
      for (const m of this.metas.values()) {
        if (m.meta.node?.serverId !== s.session.ServerID) continue;
        if (m.meta.state === 'PCHANNEL_META_STATE_UNAVAILABLE' || m.meta.state === 'PCHANNEL_META_STATE_UNINITIALIZED') continue;
        let best: number | undefined;
        for (const [n, l] of load) if (best === undefined || l < load.get(best)!) best = n;
        const to = best === undefined ? undefined : this.sessions.get(best);
        compares.push(...stillAtVersion([m.kv.key], m.kv.modRevision));
        const term = m.meta.term + 1;
        const next = {
          ...m.meta,
          term,
          node: to ? { serverId: to.session.ServerID, address: to.session.Address } : m.meta.node,
          state: to ? ('PCHANNEL_META_STATE_ASSIGNING' as const) : ('PCHANNEL_META_STATE_UNAVAILABLE' as const),
          histories: [...m.meta.histories, { term: m.meta.term, node: m.meta.node, accessMode: m.meta.accessMode }],
          lastAssignTimestampSeconds: Math.floor(Date.now() / 1000),
        };
        ops.push({ put: m.kv.key, value: encodePChannelMeta(next) });
        if (to) load.set(to.session.ServerID, load.get(to.session.ServerID)! + 1);
        moves.push(to ? `${m.meta.channel} → node-${to.session.ServerID} at term ${term}` : `${m.meta.channel} unavailable at term ${term}: no live node`);
      }
      if (remove) ops.push({ del: s.kv.key });
      if (ops.length === 0) {
        results.set(t.key, { key: t.key, status: 'unchanged', message: `${t.key} holds no channel; nothing to close` });
        continue;
      }
      writes.push({
        key: t.key,
        compares,
        ops,
        applied: remove
          ? `removed: session deleted, ${moves.length} channel(s) reassigned with term + 1, fencing the old owner${moves.length ? ` (${moves.join('; ')})` : ''}`
          : `closed: ${moves.length} channel(s) reassigned with term + 1 (${moves.join('; ')}); the old WAL is fenced, its blocked appends fail and clients retry on the new owner`,
      });
    }
    const done = await runConditional(this.client, this.config.etcd.endpoints, writes, pre.compares, this.config.etcd.maxTxnOps, (key) =>
      `${key} or one of its channels changed in etcd since the plan; nothing changed, re-check and plan again`,
    );
    // The answer waits for the mirror to hold the write, so the caller's re-check sees it.
    if (done.revision) await this.follower.caughtUp(done.revision);
    return targets.map((t) => results.get(t.key) ?? done.results.get(t.key)!);
  }
}
