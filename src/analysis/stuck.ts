/**
 * Stuck Work: everything that waits, on what, since when, from the synced
 * model alone (a pure function, shared by the language server, the CLI and
 * the tests). Each item is one piece of work, or one group of entities that
 * wait on the same thing (760,471 dangling shards of one source are one
 * item), with the chain of what it waits on, each step waiting on the next.
 *
 * Ages come from the entities' own timestamps against the cluster's logical
 * clock (`ClusterStatus.time`); where the components record no time (TiKV's
 * region cache), the age is unknown and said to be.
 *
 * A step the tool can act on names the repair of a current finding (the
 * checks' `findings`, passed in), so the view offers the repair the Problems
 * panel offers, through the same flow.
 */
import {
  keys,
  MAX_STUCK_ITEMS,
  UNFINISHED_PROCEDURE_STATUSES,
  type CollectionName,
  type Finding,
  type InFlightAppend,
  type Procedure,
  type ScPartition,
  type SpuReport,
  type StuckItem,
  type StuckRepair,
  type StuckStep,
  type StuckWork,
  type Subsystem,
} from '../protocol';
import { formatBytes, formatClusterTime, formatCount, formatDuration, plural } from '../protocol/format';
import { describeCounts, increment } from './checks/common';
import { staleMarkReason } from './checks/regions';
import { shardGroup } from './grouping';
import type { ClusterModel } from './model';
import { shardIdentity } from './shard-key';

/** How many names a step lists before "…" (leaders, regions, partitions). */
const NAMES_SHOWN = 5;

/** The repairs of the current findings, by finding id and repair id. */
class Repairs {
  private readonly byId: Map<string, Finding>;
  constructor(findings: readonly Finding[]) {
    this.byId = new Map(findings.map((f) => [f.id, f]));
  }

  /** The repair `repairId` of finding `findingId`, if that finding is current and offers it. */
  of(findingId: string, repairId: string, applies: (f: Finding) => boolean = () => true): StuckRepair | undefined {
    const f = this.byId.get(findingId);
    const r = f && applies(f) ? f.repairs.find((x) => x.id === repairId) : undefined;
    return r && f ? { findingId: f.id, repairId: r.id, title: r.title, safety: r.safety } : undefined;
  }
}

interface Draft {
  id: string;
  subsystem: Subsystem;
  chain: StuckStep[];
}

/**
 * Every piece of stuck work in the model, oldest first (unknown ages last), at most
 * `MAX_STUCK_ITEMS`. `findings`: the checks' current findings, whose repairs the steps link to.
 */
export function stuckWork(model: ClusterModel, findings: readonly Finding[] = []): StuckWork {
  const repairs = new Repairs(findings);
  const drafts = [
    ...stuckProcedures(model, repairs),
    ...stuckWals(model, repairs),
    ...stuckShards(model, repairs),
    ...stuckRegions(model, repairs),
    ...stuckPartitions(model, repairs),
  ];
  const time = model.status.time;
  const items: StuckItem[] = drafts.map((d) => {
    const since = d.chain[0]!.since ?? oldest(d.chain.map((s) => s.since));
    return { id: d.id, subsystem: d.subsystem, since, age: since === null ? null : Math.max(0, time - since), chain: d.chain };
  });
  items.sort((a, b) => (a.since ?? Infinity) - (b.since ?? Infinity) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return {
    time,
    scenario: model.status.scenario,
    items: items.slice(0, MAX_STUCK_ITEMS),
    omitted: Math.max(0, items.length - MAX_STUCK_ITEMS),
  };
}

function oldest(times: Iterable<number | null>): number | null {
  let min: number | null = null;
  for (const t of times) if (t !== null && (min === null || t < min)) min = t;
  return min;
}

function step(
  label: string,
  count: number,
  detail: string,
  since: number | null,
  entity?: { collection: CollectionName; key: string },
  repair?: StuckRepair,
): StuckStep {
  return { label, count, detail, since, ...(entity ? { entity } : {}), ...(repair ? { repair } : {}) };
}

/** "a, b, c, d, e, …" */
function names(list: readonly (string | number)[]): string {
  return list.slice(0, NAMES_SHOWN).join(', ') + (list.length > NAMES_SHOWN ? ', …' : '');
}

function pushTo<K, V>(map: Map<K, V[]>, k: K, v: V): void {
  const list = map.get(k);
  if (list) list.push(v);
  else map.set(k, [v]);
}

// -------------------------------------------------------------- GreptimeDB --

const UNFINISHED = new Set<string>(UNFINISHED_PROCEDURE_STATUSES);
const PROCEDURE_TYPE_PREFIX = 'metasrv-procedure::';

/** Unfinished procedures, one item per (kind, table): they wait on their own retries, which wait on what their error says. */
function stuckProcedures(model: ClusterModel, repairs: Repairs): Draft[] {
  const byWork = new Map<string, Procedure[]>();
  for (const p of model.collections['greptime.procedures'].values()) {
    if (UNFINISHED.has(p.status)) pushTo(byWork, `${p.typeName}\u0000${p.table}`, p);
  }
  const drafts: Draft[] = [];
  for (const all of byWork.values()) {
    let first = all[0]!;
    const statuses = new Map<string, number>();
    for (const p of all) {
      increment(statuses, p.status);
      if (p.startTime < first.startTime || (p.startTime === first.startTime && p.procedureId < first.procedureId)) first = p;
    }
    const kind = first.typeName.startsWith(PROCEDURE_TYPE_PREFIX) ? first.typeName.slice(PROCEDURE_TYPE_PREFIX.length) : first.typeName;
    const ref = { collection: 'greptime.procedures' as const, key: first.key };
    const work = step(
      `${kind}(${first.table})`,
      all.length,
      `${plural(all.length, 'unfinished procedure')} (${describeCounts(statuses)}); the oldest, ${first.procedureId}, started at ${formatClusterTime(first.startTime, model.status)}`,
      first.startTime,
      ref,
      all.length > 1 ? repairs.of(`ddl/duplicate:${first.table}`, 'cancel-duplicates') : undefined,
    );
    // Disabling auto-create removes the cause only for the tables the backlog's repair names.
    const stopsThisTable = (f: Finding) =>
      f.repairs.some((r) => r.operations.some((op) => op.command === 'greptime.disableAutoCreate' && op.table === first.table));
    const cause = first.error
      ? step(
          `retry(${first.error})`,
          1,
          `${first.status} after ${plural(first.retries, 'retry', 'retries')}: ${first.error}`,
          null,
          ref,
          repairs.of('ddl/backlog:metasrv', 'disable-auto-create', stopsThisTable),
        )
      : step(`metasrv(${first.status})`, 1, `${first.status} in metasrv, no error reported yet`, null, ref);
    drafts.push({ id: `ddl:${first.typeName}:${first.table}`, subsystem: 'ddl', chain: [work, cause] });
  }
  return drafts;
}

// ------------------------------------------------------------------ Milvus --

/**
 * WAL closes waiting on in-flight appends, and appends waiting on recovery: one item per WAL.
 * `close(node-1) ← append(ch) ×5 ← recovery(ch)`.
 */
function stuckWals(model: ClusterModel, repairs: Repairs): Draft[] {
  const { collections, status } = model;
  const appendsByWal = new Map<string, InFlightAppend[]>();
  for (const a of collections['milvus.appends'].values()) pushTo(appendsByWal, keys.wal(a.serverId, a.channel), a);
  const drafts: Draft[] = [];
  for (const w of collections['milvus.wals'].values()) {
    const appends = appendsByWal.get(w.key) ?? [];
    const waitingRecovery = appends.filter((a) => a.phase === 'waiting-recovery').length;
    // Unobserved (null, a store that does not hold the node's memory): nothing known to wait on.
    const inFlightSeen = w.inFlightAppends ?? 0;
    const closeWaits = w.closing && inFlightSeen > 0;
    if (!closeWaits && !(w.recovering && waitingRecovery > 0)) continue;
    const node = collections['milvus.nodes'].get(keys.node(w.serverId));
    const chain: StuckStep[] = [];
    if (closeWaits) {
      const stopping = node?.lifecycle === 'Terminating' && node.stopRequestedAt !== null ? node.stopRequestedAt : null;
      const why =
        node && stopping !== null
          ? `${node.lifecycle} for ${formatDuration(status.time - stopping)} (grace ${formatDuration(node.gracePeriodSeconds)}): `
          : '';
      chain.push(
        step(
          `close(${keys.node(w.serverId)})`,
          1,
          `${why}closing WAL ${w.channel} (term ${w.term}) waits for ${plural(inFlightSeen, 'in-flight append')}`,
          stopping,
          node ? { collection: 'milvus.nodes', key: node.key } : { collection: 'milvus.wals', key: w.key },
        ),
      );
    }
    const first = appends.reduce<InFlightAppend | undefined>((o, a) => (!o || a.startedAt < o.startedAt ? a : o), undefined);
    const inFlight = Math.max(inFlightSeen, appends.length);
    chain.push(
      step(
        `append(${w.channel})`,
        inFlight,
        `${plural(inFlight, 'append')} in flight${first ? ` since ${formatClusterTime(first.startedAt, model.status)}` : ''}: ` +
          `${formatCount(waitingRecovery)} waiting for recovery, ${formatCount(appends.length - waitingRecovery)} writing`,
        first?.startedAt ?? null,
        first ? { collection: 'milvus.appends', key: first.key } : { collection: 'milvus.wals', key: w.key },
      ),
    );
    if (w.recovering) {
      // Recovery began when the channel was assigned to this node at this term.
      const meta = collections['milvus.channelMetas'].get(w.channel);
      const assigned = meta && meta.node === w.serverId && meta.term === w.term ? meta.lastAssignTimestampSeconds : null;
      chain.push(
        step(
          `recovery(${w.channel})`,
          1,
          `WAL ${w.channel} (term ${w.term}) on ${keys.node(w.serverId)} is recovering: its interceptors are not ready` +
            (assigned !== null ? ` since it was assigned at ${formatClusterTime(assigned, model.status)}` : ''),
          assigned,
          { collection: 'milvus.wals', key: w.key },
        ),
      );
    }
    // The end of the chain offers what unblocks it: failing the blocked appends lets the close finish.
    const end = chain[chain.length - 1]!;
    const repair = repairs.of(`wal/close-blocked:${keys.node(w.serverId)}`, 'cancel-appends-and-close');
    if (closeWaits && repair) chain[chain.length - 1] = { ...end, repair };
    drafts.push({ id: `wal:${closeWaits ? 'close' : 'append'}:${w.key}`, subsystem: 'wal', chain });
  }
  return drafts;
}

// ---------------------------------------------------------------- Quickwit --

interface ShardGroup {
  group: string;
  known: boolean;
  count: number;
  states: Map<string, number>;
  oldest: { key: string; createdAt: number };
  leaders: Set<string>;
}

/**
 * Non-closed metastore shards that no ingester holds: one item per (index, source), split by
 * whether the control plane knows them (then it retries init_shards) or not (nothing ever will).
 * One pass over the metastore; lookups in sets built from the ~3,000 other shards.
 */
function stuckShards(model: ClusterModel, repairs: Repairs): Draft[] {
  const { collections, status } = model;
  const known = new Set<string>();
  for (const s of collections['quickwit.controlPlane.shards'].values()) known.add(shardIdentity(s));
  const held = new Set<string>();
  for (const s of collections['quickwit.ingester.shards'].values()) held.add(keys.shard(s.indexUid, s.sourceId, s.shardId));

  const groups = new Map<string, ShardGroup>();
  let last: ShardGroup | undefined;
  let lastIndex = '';
  let lastSource = '';
  for (const s of collections['quickwit.metastore.shards'].values()) {
    if (s.shardState === 'closed') continue;
    const k = shardIdentity(s);
    if (held.has(k)) continue;
    const isKnown = known.has(k);
    let g = last && last.known === isKnown && lastIndex === s.indexUid && lastSource === s.sourceId ? last : undefined;
    if (!g) {
      const group = shardGroup(s.indexUid, s.sourceId);
      const id = `${group}\u0000${isKnown}`;
      g = groups.get(id);
      if (!g) {
        g = { group, known: isKnown, count: 0, states: new Map(), oldest: { key: s.key, createdAt: s.createdAt }, leaders: new Set() };
        groups.set(id, g);
      }
      last = g;
      lastIndex = s.indexUid;
      lastSource = s.sourceId;
    }
    g.count++;
    increment(g.states, s.shardState);
    g.leaders.add(s.leaderId);
    if (s.createdAt < g.oldest.createdAt) g.oldest = { key: s.key, createdAt: s.createdAt };
  }

  const drafts: Draft[] = [];
  for (const g of groups.values()) {
    const leaders = [...g.leaders].sort();
    const findingId = `shards/dangling:${g.group}`;
    const chain: StuckStep[] = [
      step(
        `shards(${g.group})`,
        g.count,
        `${describeCounts(g.states)} in the metastore since ${formatClusterTime(g.oldest.createdAt, model.status)}; no ingester holds ${g.count === 1 ? 'it' : 'them'}`,
        g.oldest.createdAt,
        { collection: 'quickwit.metastore.shards', key: g.oldest.key },
        g.known ? undefined : repairs.of(findingId, 'delete-uninitialised'),
      ),
      step(
        `init_shards(${names(leaders)})`,
        leaders.length,
        g.known
          ? `their leader ${leaders.length === 1 ? 'ingester has' : 'ingesters have'} not opened them yet; the control plane retries`
          : `their leader ${leaders.length === 1 ? 'ingester' : 'ingesters'} never opened them: open_shards succeeded, init_shards did not`,
        null,
        leaders.length ? { collection: 'quickwit.ingesters', key: leaders[0]! } : undefined,
      ),
    ];
    if (!g.known) {
      chain.push(
        step(
          `control plane(epoch ${status.controlPlaneEpoch})`,
          1,
          `does not know ${g.count === 1 ? 'it' : 'them'}, so it never retries init_shards`,
          null,
          undefined,
          repairs.of(findingId, 'restart-control-plane'),
        ),
      );
    }
    drafts.push({ id: `shards:${g.known ? 'uninitialised' : 'dangling'}:${g.group}`, subsystem: 'shards', chain });
  }
  return drafts;
}

// -------------------------------------------------------------------- TiKV --

/** Regions marked prepared for write that the write batch has moved on from: one item per store. The cache records no time. */
function stuckRegions(model: ClusterModel, repairs: Repairs): Draft[] {
  const { collections } = model;
  const byStore = new Map<number, { regionId: number; key: string; epoch: number; state: string; reason: string }[]>();
  for (const r of collections['tikv.regions'].values()) {
    if (!r.isWritten) continue;
    const batch = collections['tikv.writeBatches'].get(keys.writeBatch(r.storeId));
    const reason = batch && staleMarkReason(r, batch);
    if (reason) pushTo(byStore, r.storeId, { regionId: r.regionId, key: r.key, epoch: r.epochVersion, state: r.state, reason });
  }
  const drafts: Draft[] = [];
  for (const [storeId, regions] of byStore) {
    regions.sort((a, b) => a.regionId - b.regionId);
    const store = keys.writeBatch(storeId);
    const batch = collections['tikv.writeBatches'].get(store)!;
    // Every stale mark of a store is stale for the same reason: where the batch is.
    const reason = regions[0]!.reason;
    const one = regions.length === 1 ? regions[0]! : undefined;
    drafts.push({
      id: `regions:prepared:${store}`,
      subsystem: 'regions',
      chain: [
        step(
          one ? `prepared(${one.key})` : `prepared(${store})`,
          regions.length,
          `marked prepared for write (is_written) and never cleared: ` +
            (one ? `region ${one.regionId} (epoch ${one.epoch}, ${one.state})` : `regions ${names(regions.map((r) => r.regionId))}`),
          null,
          { collection: 'tikv.regions', key: regions[0]!.key },
        ),
        step(
          `write batch(${store})`,
          1,
          `${reason} (sequence ${batch.sequenceNumber}): it will not clear the mark, and its next prepare asserts`,
          null,
          { collection: 'tikv.writeBatches', key: batch.key },
          repairs.of(`regions/stale-prepared:${batch.key}`, 'clear-prepared-mark'),
        ),
      ],
    });
  }
  return drafts;
}

// ------------------------------------------------------------------ Fluvio --

/**
 * Partitions whose SC status disagrees with their leader SPU's last report (Online on a full
 * disk, or OutOfStorage with space free): one item per (topic, SC status), since the report.
 */
function stuckPartitions(model: ClusterModel, repairs: Repairs): Draft[] {
  const { collections } = model;
  const groups = new Map<string, { topic: string; resolution: string; items: { p: ScPartition; r: SpuReport }[] }>();
  for (const p of collections['fluvio.partitions'].values()) {
    if (p.resolution !== 'Online' && p.resolution !== 'OutOfStorage') continue;
    const r = collections['fluvio.spuReports'].get(keys.spuReport(p.leader.spu, p.topic, p.partition));
    if (!r || r.storageFull === (p.resolution === 'OutOfStorage')) continue;
    const id = `${p.topic}\u0000${p.resolution}`;
    let g = groups.get(id);
    if (!g) groups.set(id, (g = { topic: p.topic, resolution: p.resolution, items: [] }));
    g.items.push({ p, r });
  }
  const drafts: Draft[] = [];
  for (const g of groups.values()) {
    g.items.sort((a, b) => a.p.partition - b.p.partition);
    const since = oldest(g.items.map((i) => i.r.reportedAt));
    const spus = [...new Set(g.items.map((i) => i.r.spuId))].sort((a, b) => a - b);
    const full = g.resolution === 'Online';
    const free = g.items.reduce((n, i) => Math.min(n, i.r.freeBytes ?? Infinity), Infinity);
    const first = g.items[0]!;
    drafts.push({
      id: `partitions:${g.resolution}:${g.topic}`,
      subsystem: 'partitions',
      chain: [
        step(
          g.items.length === 1 ? `partition(${first.p.key})` : `partition(${g.topic})`,
          g.items.length,
          `the SC says ${g.resolution}: ${names(g.items.map((i) => i.p.key))}`,
          since,
          { collection: 'fluvio.partitions', key: first.p.key },
        ),
        step(
          `report(${names(spus.map((s) => keys.spu(s)))})`,
          spus.length,
          `the leader SPU's last report (${since === null ? 'time unknown' : formatClusterTime(since, model.status)}) says ` +
            (full ? `storage full${Number.isFinite(free) ? `, ${formatBytes(free)} free` : ''}` : 'storage not full'),
          since,
          { collection: 'fluvio.spuReports', key: first.r.key },
          full ? repairs.of(`partitions/online-out-of-space:${g.topic}`, 'restore-from-spu-report') : undefined,
        ),
      ],
    });
  }
  return drafts;
}
