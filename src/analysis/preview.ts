/**
 * What a repair would do, before it does it: its operations applied to a
 * copy-on-write copy of the model (`OverlayMap`: only what changes is held),
 * each command with the effect the cluster gives it (as the reference
 * simulator implements it, `src/simulator/*.ts`), item by item, with the
 * refusals the cluster would make where the model can tell (a shard open on
 * an ingester, a target that an earlier operation of the plan moved on, a
 * precondition an earlier operation broke). Then every check runs again on
 * the copy: the findings the repair resolves, those that remain, and those
 * it would create.
 *
 * Pure: no I/O, and the model it is given is never changed.
 */
import {
  ENTITY_NOUNS,
  COLLECTIONS,
  PREVIEW_SAMPLES,
  SUBSYSTEMS,
  keys,
  UNFINISHED_PROCEDURE_STATUSES,
  applied,
  dedupeTargets,
  positionOffset,
  refused,
  sameFieldValue,
  unchanged,
  type AnyEntity,
  type CollectionName,
  type EntityOf,
  type Expectation,
  type Finding,
  type PreviewCollection,
  type PreviewFinding,
  type PreviewOperations,
  type Precondition,
  type RepairCommand,
  type RepairCommandName,
  type RepairItemResult,
  type RepairPreview,
  type RepairSafety,
  type Subsystem,
  repairRefusal,
} from '../protocol';
import { formatCount, plural } from '../protocol/format';
import { runChecks, type CheckOptions } from './checks';
import type { ClusterModel, CollectionMaps } from './model';
import { OverlayMap } from './overlay';
import { CONTROL_PLANE, INGESTER, METASTORE } from '../protocol/systems';

type Draft<C extends CollectionName> = Omit<EntityOf<C>, 'version'>;

/** The model under a plan: the base model's maps overlaid, and the control plane's epoch. */
class PreviewState {
  private readonly overlays = new Map<CollectionName, OverlayMap<AnyEntity>>();
  controlPlaneEpoch: number;
  readonly notes = new Set<string>();

  constructor(readonly base: ClusterModel) {
    this.controlPlaneEpoch = base.status.controlPlaneEpoch;
  }

  get time(): number {
    return this.base.status.time;
  }

  private read<C extends CollectionName>(c: C): ReadonlyMap<string, EntityOf<C>> {
    return (this.overlays.get(c) ?? this.base.collections[c]) as ReadonlyMap<string, EntityOf<C>>;
  }

  private write<C extends CollectionName>(c: C): OverlayMap<EntityOf<C>> {
    let o = this.overlays.get(c);
    if (!o) this.overlays.set(c, (o = new OverlayMap<AnyEntity>(this.base.collections[c] as ReadonlyMap<string, AnyEntity>)));
    return o as unknown as OverlayMap<EntityOf<C>>;
  }

  get<C extends CollectionName>(c: C, key: string): EntityOf<C> | undefined {
    return this.read(c).get(key);
  }

  has(c: CollectionName, key: string): boolean {
    return this.read(c).has(key);
  }

  /** A snapshot: safe to write while walking it. */
  all<C extends CollectionName>(c: C): EntityOf<C>[] {
    return [...this.read(c).values()];
  }

  values<C extends CollectionName>(c: C): IterableIterator<EntityOf<C>> {
    return this.read(c).values();
  }

  /** Inserts or replaces; the version is the previous one + 1 (a new entity's is a guess: the cluster's own counter). */
  put<C extends CollectionName>(c: C, draft: Draft<C>): EntityOf<C> {
    const prev = this.get(c, draft.key);
    const entity = { ...draft, version: (prev?.version ?? 0) + 1 } as EntityOf<C>;
    this.write(c).set(draft.key, entity);
    return entity;
  }

  /** A patch that changes nothing bumps no version, as in the cluster's store. */
  patch<C extends CollectionName>(c: C, key: string, patch: Partial<Draft<C>>): void {
    const prev = this.get(c, key);
    if (!prev) return;
    const changed = Object.entries(patch).some(([k, v]) => !sameFieldValue((prev as Record<string, unknown>)[k], v));
    if (changed) this.put(c, { ...prev, ...patch } as Draft<C>);
  }

  delete(c: CollectionName, key: string): void {
    if (this.has(c, key)) this.write(c).delete(key);
  }

  /** The entity if still at the expected version, else the refusal the cluster gives. */
  expect<C extends CollectionName>(c: C, t: Expectation, what: string): { entity: EntityOf<C> } | { refusal: RepairItemResult } {
    const entity = this.get(c, t.key);
    if (!entity) return { refusal: refused(t.key, `${what} ${t.key} no longer exists; nothing changed`) };
    if (entity.version !== t.version) {
      return {
        refusal: refused(t.key, `${what} ${t.key} moved on (expected version ${t.version}, it is at ${entity.version}); nothing changed`),
      };
    }
    return { entity };
  }

  /** The first precondition that no longer holds, in words. */
  failedPrecondition(preconditions: readonly Precondition[]): string | undefined {
    for (const p of preconditions) {
      if ('epoch' in p) {
        if (p.value !== this.controlPlaneEpoch)
          return `the control plane reloaded its view (epoch ${p.value} when planned, now ${this.controlPlaneEpoch})`;
        continue;
      }
      const e = this.get(p.collection, p.key);
      if ('absent' in p) {
        if (e) return `${p.collection} ${p.key} exists now; the plan relied on its absence`;
      } else if (!e) return `${p.collection} ${p.key} is gone; the plan relied on it at version ${p.version}`;
      else if (e.version !== p.version) return `${p.collection} ${p.key} moved on (version ${p.version} when planned, now ${e.version})`;
    }
    return undefined;
  }

  touched(): CollectionName[] {
    return [...this.overlays.keys()];
  }

  changes(c: CollectionName): { created: number; changed: number; deleted: number } {
    return this.overlays.get(c)?.changes() ?? { created: 0, changed: 0, deleted: 0 };
  }

  /** The model after the plan: the touched collections overlaid, the rest shared with the base. */
  model(): ClusterModel {
    const collections = { ...this.base.collections } as Record<CollectionName, ReadonlyMap<string, AnyEntity>>;
    for (const [c, o] of this.overlays) collections[c] = o;
    return { status: { ...this.base.status, controlPlaneEpoch: this.controlPlaneEpoch }, collections: collections as CollectionMaps };
  }
}

// ---------------------------------------------------------------- effects --
// One function per command, each as the cluster runs it (the simulator's module of that system).

const PROCEDURE_PREFIX = '/__procedure__/';
const UNFINISHED = new Set<string>(UNFINISHED_PROCEDURE_STATUSES);

type Effect<K extends RepairCommandName> = (s: PreviewState, cmd: Extract<RepairCommand, { command: K }>) => RepairItemResult[];

const EFFECTS: { [K in RepairCommandName]: Effect<K> } = {
  'quickwit.deleteShards': (s, cmd) => dedupeTargets(cmd.targets).map((t) => deleteShard(s, t)),
  'quickwit.restartControlPlane': (s, cmd) => [restartControlPlane(s, cmd.expectedEpoch)],
  'quickwit.adviseResetShards': (s, cmd) =>
    dedupeTargets(cmd.targets).map((t) => {
      const found = s.expect(INGESTER, t, 'ingester shard');
      if ('refusal' in found) return found.refusal;
      const shard = found.entity;
      const metaKey = keys.shard(shard.indexUid, shard.sourceId, shard.shardId);
      if (s.has(METASTORE, metaKey)) return refused(t.key, `the metastore still has ${metaKey}; it is not orphaned`);
      s.delete(INGESTER, shard.key);
      s.delete(CONTROL_PLANE, metaKey);
      return applied(t.key, `reset on ${shard.ingesterId}: dropped the ${shard.shardState} shard`);
    }),
  'milvus.cancelAppendsAndClose': (s, cmd) => nodeRepair(s, cmd.targets, false),
  'milvus.forceRemoveNode': (s, cmd) => nodeRepair(s, cmd.targets, true),
  'greptime.cancelProcedures': (s, cmd) =>
    dedupeTargets(cmd.targets).map((t) => {
      const found = s.expect('greptime.procedures', t, 'procedure');
      if ('refusal' in found) return found.refusal;
      const p = found.entity;
      if (!UNFINISHED.has(p.status)) return unchanged(t.key, `already ${p.status}; nothing to cancel`);
      // The rollback is one more persisted step of the procedure in etcd.
      addProcedureSteps(s, 1);
      const reason = 'cancelled by operator';
      s.patch('greptime.procedures', p.key, { status: 'Failed', endTime: s.time, error: p.error ? `${reason} (was: ${p.error})` : reason });
      return applied(t.key, 'cancelled: rolled back to Failed; its state stays in etcd until purged');
    }),
  'greptime.purgeProcedures': (s, cmd) =>
    dedupeTargets(cmd.targets).map((t) => {
      const found = s.expect('greptime.procedures', t, 'procedure');
      if ('refusal' in found) return found.refusal;
      const p = found.entity;
      if (UNFINISHED.has(p.status)) return refused(t.key, `${p.status}: an unfinished procedure is cancelled, never purged`);
      s.delete('greptime.procedures', p.key);
      // Its steps: the submission, one per retry, and one for a rollback.
      addProcedureSteps(s, -(1 + p.retries + (p.status === 'Failed' ? 1 : 0)));
      return applied(t.key, 'purged from etcd');
    }),
  'greptime.disableAutoCreate': (s, cmd) => {
    // Nothing the model holds changes: the cluster stops creating the table on write.
    s.notes.add(
      'Disabling auto-create changes no entity: it stops new procedures, so findings it cures go away only as the cluster moves on.',
    );
    return [applied(cmd.table, `writes to ${cmd.table} no longer create it`)];
  },
  'tikv.clearPreparedMark': (s, cmd) => regionRepair(s, cmd.targets, false),
  'tikv.evictRegion': (s, cmd) => regionRepair(s, cmd.targets, true),
  'fluvio.restoreFromSpuReport': (s, cmd) =>
    dedupeTargets(cmd.targets).map((t) => {
      const found = s.expect('fluvio.partitions', t, 'partition');
      if ('refusal' in found) return found.refusal;
      const p = found.entity;
      const report = s.get('fluvio.spuReports', keys.spuReport(p.leader.spu, p.topic, p.partition));
      if (!report) return refused(t.key, `no report from its leader ${keys.spu(p.leader.spu)}; nothing to restore from`);
      if (!report.storageFull) return unchanged(t.key, `${keys.spu(p.leader.spu)} reports free space; resolution stays ${p.resolution}`);
      if (p.resolution === 'OutOfStorage') return unchanged(t.key, 'already OutOfStorage');
      s.patch('fluvio.partitions', p.key, { resolution: 'OutOfStorage' });
      return applied(t.key, `${p.resolution} → OutOfStorage, from the leader SPU's report`);
    }),
  // Undo's own commands: what a repair deleted or changed, back from the journal's before-images.
  'quickwit.restoreShards': (s, cmd) =>
    dedupeTargets(cmd.targets).map((t) => {
      const now = s.get(METASTORE, t.key);
      if (now)
        return refused(
          t.key,
          `metastore shard ${t.key} exists again (version ${now.version}): something re-created it since the repair; left as it is`,
        );
      if (t.entity.key !== t.key) return refused(t.key, `the entity to re-create is ${t.entity.key}, not ${t.key}; nothing changed`);
      const { version: _before, ...draft } = t.entity;
      s.put(METASTORE, draft);
      return applied(t.key, `re-created as it was before the repair (its version then was ${t.entity.version})`);
    }),
  'fluvio.restoreResolution': (s, cmd) =>
    dedupeTargets(cmd.targets).map((t) => {
      const found = s.expect('fluvio.partitions', t, 'partition');
      if ('refusal' in found) return found.refusal;
      if (found.entity.resolution === t.resolution) return unchanged(t.key, `already ${t.resolution}`);
      s.patch('fluvio.partitions', t.key, { resolution: t.resolution });
      return applied(t.key, `${found.entity.resolution} → ${t.resolution}, as before the repair`);
    }),
};

/** Metastore `DeleteShards`: refused for a shard an ingester holds unless closed and published to its end. */
function deleteShard(s: PreviewState, t: Expectation): RepairItemResult {
  const found = s.expect(METASTORE, t, 'metastore shard');
  if ('refusal' in found) return found.refusal;
  const shard = found.entity;
  const held = s.get(INGESTER, keys.ingesterShard(shard.leaderId, shard.indexUid, shard.sourceId, shard.shardId));
  if (held) {
    const where = `initialised on ${shard.leaderId}`;
    if (shard.shardState !== 'closed')
      return refused(t.key, `${where} and ${shard.shardState}; deleting it would lose records — close it first`);
    if (positionOffset(shard.publishPositionInclusive) < positionOffset(held.replicationPositionInclusive)) {
      return refused(t.key, `closed but not fully published (${where}); deleting it would lose records`);
    }
    s.delete(INGESTER, held.key);
  } else if (shard.shardState !== 'closed' && !s.has('quickwit.ingesters', shard.leaderId)) {
    s.notes.add(
      `Some shards' leader is not in the cluster (restarting?): the cluster refuses a shard its WAL still holds, which the model cannot see; the preview counts them as deleted.`,
    );
  }
  s.delete(CONTROL_PLANE, t.key);
  s.delete(METASTORE, t.key);
  return applied(t.key, held ? 'deleted: closed and fully published' : `deleted: never initialised on ${shard.leaderId}`);
}

/** The control plane restarts and reloads its model from the metastore. */
function restartControlPlane(s: PreviewState, expectedEpoch: number): RepairItemResult {
  const key = 'control-plane';
  if (expectedEpoch !== s.controlPlaneEpoch) {
    return refused(key, `the control plane moved on (expected epoch ${expectedEpoch}, it is at ${s.controlPlaneEpoch}); nothing changed`);
  }
  for (const cp of s.all(CONTROL_PLANE)) if (!s.has(METASTORE, cp.key)) s.delete(CONTROL_PLANE, cp.key);
  for (const m of s.all(METASTORE)) {
    if (m.shardState === 'closed') continue;
    const existing = s.get(CONTROL_PLANE, m.key);
    if (existing && existing.shardState === m.shardState && existing.leaderId === m.leaderId) continue;
    s.put(CONTROL_PLANE, {
      key: m.key,
      indexUid: m.indexUid,
      sourceId: m.sourceId,
      shardId: m.shardId,
      leaderId: m.leaderId,
      shardState: m.shardState,
    });
  }
  s.controlPlaneEpoch++;
  return applied(key, `control plane restarted (epoch ${s.controlPlaneEpoch}); model reloaded from the metastore`);
}

/** Milvus: finish a Terminating node's close (failing its blocked appends), or remove it; its channels move on at term + 1. */
function nodeRepair(s: PreviewState, targets: readonly Expectation[], remove: boolean): RepairItemResult[] {
  return dedupeTargets(targets).map((t) => {
    const found = s.expect('milvus.nodes', t, 'node');
    if ('refusal' in found) return found.refusal;
    const node = found.entity;
    if (node.lifecycle === 'Running')
      return refused(t.key, `${t.key} is Running; it was not asked to stop, so there is no close to finish`);
    if (node.lifecycle === 'Stopped' && !remove) return unchanged(t.key, `${t.key} is already Stopped`);
    let failed = 0;
    for (const wal of s.all('milvus.wals')) {
      if (wal.serverId !== node.serverId) continue;
      const open = wal.available || wal.closing;
      if (!remove && !open) continue;
      for (const a of s.all('milvus.appends')) {
        if (a.serverId !== wal.serverId || a.channel !== wal.channel) continue;
        s.delete('milvus.appends', a.key);
        failed++;
      }
      s.patch('milvus.wals', wal.key, { inFlightAppends: 0, recovering: false });
      if (open) finishClose(s, wal.key);
      if (remove) s.delete('milvus.wals', wal.key);
    }
    if (remove) s.delete('milvus.nodes', node.key);
    else s.patch('milvus.nodes', node.key, { lifecycle: 'Stopped' });
    return applied(t.key, `${remove ? 'removed' : 'closed and Stopped'}; ${plural(failed, 'in-flight append')} failed`);
  });
}

/** The WAL is closed; the coordinator hands its channel to the least loaded Running node at term + 1. */
function finishClose(s: PreviewState, walKey: string): void {
  s.patch('milvus.wals', walKey, { closing: false, available: false, recovering: false, inFlightAppends: 0 });
  const wal = s.get('milvus.wals', walKey)!;
  const meta = s.get('milvus.channelMetas', wal.channel);
  if (!meta || meta.node !== wal.serverId) return;
  const load = new Map<number, number>();
  for (const m of s.values('milvus.channelMetas')) load.set(m.node, (load.get(m.node) ?? 0) + 1);
  let target: EntityOf<'milvus.nodes'> | undefined;
  for (const n of s.values('milvus.nodes')) {
    if (n.lifecycle !== 'Running' || n.serverId === wal.serverId) continue;
    if (!target || (load.get(n.serverId) ?? 0) < (load.get(target.serverId) ?? 0)) target = n;
  }
  if (!target) {
    s.patch('milvus.channelMetas', meta.key, { state: 'PCHANNEL_META_STATE_UNAVAILABLE' });
    return;
  }
  const term = meta.term + 1;
  for (const w of s.all('milvus.wals')) {
    if (w.channel === wal.channel && w.serverId !== target.serverId && w.available) s.patch('milvus.wals', w.key, { available: false });
  }
  s.put('milvus.wals', {
    key: keys.wal(target.serverId, wal.channel),
    serverId: target.serverId,
    channel: wal.channel,
    term,
    available: true,
    accessMode: 'PCHANNEL_ACCESS_READWRITE',
    recovering: term > 1,
    closing: false,
    inFlightAppends: 0,
  });
  s.put('milvus.channelMetas', {
    key: wal.channel,
    channel: wal.channel,
    node: target.serverId,
    term,
    state: 'PCHANNEL_META_STATE_ASSIGNED',
    lastAssignTimestampSeconds: s.time,
  });
}

/** TiKV: clear a stale `is_written` mark, or evict the region; refused for a region a batch being written prepared. */
function regionRepair(s: PreviewState, targets: readonly Expectation[], evict: boolean): RepairItemResult[] {
  return dedupeTargets(targets).map((t) => {
    const found = s.expect('tikv.regions', t, 'region');
    if ('refusal' in found) return found.refusal;
    const region = found.entity;
    const batch = s.get('tikv.writeBatches', keys.writeBatch(region.storeId));
    if (!evict && !region.isWritten) return unchanged(t.key, 'not marked prepared for write; nothing to clear');
    if (batch && !batch.atCommitBoundary && (batch.currentRegion === region.regionId || batch.writtenRegions.includes(region.regionId))) {
      return refused(t.key, 'a batch being written prepared it (it stays marked until the batch is written)');
    }
    if (evict) {
      unmark(s, region);
      s.delete('tikv.regions', region.key);
      return applied(t.key, 'evicted from the in-memory engine');
    }
    s.patch('tikv.regions', region.key, { isWritten: false });
    unmark(s, region);
    return applied(t.key, 'cleared the stale is_written mark');
  });
}

function unmark(s: PreviewState, region: EntityOf<'tikv.regions'>): void {
  const batch = s.get('tikv.writeBatches', keys.writeBatch(region.storeId));
  if (!batch) return;
  s.patch('tikv.writeBatches', batch.key, {
    writtenRegions: batch.writtenRegions.filter((id) => id !== region.regionId),
    currentRegion: batch.currentRegion === region.regionId ? null : batch.currentRegion,
  });
}

/**
 * Procedure steps added to (or removed from) etcd's `/__procedure__/` prefix. The size of a step is
 * not in the model: it is estimated as the prefix's average (its bytes over its keys).
 */
function addProcedureSteps(s: PreviewState, steps: number): void {
  const prefix = s.get('greptime.etcd', PROCEDURE_PREFIX);
  if (!prefix) return;
  const perStep = prefix.keyCount > 0 ? prefix.sizeBytes / prefix.keyCount : 0;
  s.notes.add(
    `etcd sizes after the repair are estimated: ${formatCount(Math.round(perStep))} bytes per procedure step (the prefix's average).`,
  );
  s.patch('greptime.etcd', prefix.key, {
    keyCount: Math.max(0, prefix.keyCount + steps),
    sizeBytes: Math.max(0, Math.round(prefix.sizeBytes + steps * perStep)),
  });
}

// ------------------------------------------------------------------- plan --

/** The plan applied: per operation, in order, what the cluster would answer for each item. */
function applyPlan(s: PreviewState, operations: readonly RepairCommand[]): PreviewOperations[] {
  const byCommand = new Map<string, PreviewOperations>();
  for (const op of operations) {
    const failed = s.failedPrecondition(op.preconditions ?? []);
    // The cluster refuses the command outright (its owner runs and would undo it): nothing changes.
    const refusal = repairRefusal(s.base.status, [op]);
    const items = refusal
      ? refuseAll(op, refusal)
      : failed
        ? refuseAll(op, `not applied: ${failed}`)
        : (EFFECTS[op.command] as Effect<RepairCommandName>)(s, op);
    let g = byCommand.get(op.command);
    if (!g)
      byCommand.set(op.command, (g = { command: op.command, operations: 0, items: 0, applied: 0, refused: 0, unchanged: 0, refusals: [] }));
    g.operations++;
    g.items += items.length;
    for (const i of items) {
      g[i.status]++;
      if (i.status === 'refused' && g.refusals.length < PREVIEW_SAMPLES) g.refusals.push({ key: i.key, message: i.message });
    }
  }
  return [...byCommand.values()];
}

function refuseAll(op: RepairCommand, message: string): RepairItemResult[] {
  if ('targets' in op) return op.targets.map((t) => refused(t.key, message));
  return [refused(op.command === 'greptime.disableAutoCreate' ? op.table : op.command, message)];
}

export interface PreviewInput {
  title: string;
  safety: RepairSafety;
  operations: readonly RepairCommand[];
}

export interface PreviewOptions extends CheckOptions {
  /** The findings of `model` now, when the caller has them (they are computed otherwise). */
  before?: readonly Finding[];
}

/**
 * A plan applied to a copy of `model`, and every check run again on the copy. Subsystems whose
 * collections the plan did not touch keep their findings (checks are pure functions of them).
 */
export function previewRepair(model: ClusterModel, plan: PreviewInput, options: PreviewOptions = {}): RepairPreview {
  const before = options.before ?? runChecks(model, options);
  const state = new PreviewState(model);
  const operations = applyPlan(state, plan.operations);
  const touched = new Set<Subsystem>(state.touched().map((c) => COLLECTIONS[c].subsystem));
  if (state.controlPlaneEpoch !== model.status.controlPlaneEpoch) touched.add('shards');
  const afterModel = touched.size ? state.model() : model;
  const afterFindings: Finding[] = before.filter((f) => !touched.has(f.subsystem));
  for (const subsystem of SUBSYSTEMS) {
    if (touched.has(subsystem)) afterFindings.push(...runChecks(afterModel, { ...options, subsystem }));
  }

  const beforeById = new Map(before.map((f) => [f.id, f]));
  const afterById = new Map(afterFindings.map((f) => [f.id, f]));
  const entry = (f: Finding, countBefore: number, countAfter: number): PreviewFinding => ({
    id: f.id,
    rule: f.rule,
    severity: f.severity,
    message: f.message,
    countBefore,
    countAfter,
  });
  const resolves = before.filter((f) => !afterById.has(f.id)).map((f) => entry(f, f.count, 0));
  const creates = afterFindings.filter((f) => !beforeById.has(f.id)).map((f) => entry(f, 0, f.count));
  const remains = afterFindings.filter((f) => beforeById.has(f.id)).map((f) => entry(f, beforeById.get(f.id)!.count, f.count));
  const byId = (a: PreviewFinding, b: PreviewFinding) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

  const collections: PreviewCollection[] = state
    .touched()
    .sort()
    .map((c) => {
      const ch = state.changes(c);
      return { collection: c, before: model.collections[c].size, after: afterModel.collections[c].size, ...ch };
    })
    .filter((c) => c.created + c.changed + c.deleted > 0);

  const preview: RepairPreview = {
    title: plan.title,
    safety: plan.safety,
    summary: '',
    resolves: resolves.sort(byId),
    remains: remains.sort(byId),
    creates: creates.sort(byId),
    operations,
    collections,
    notes: [...state.notes],
  };
  preview.summary = previewSummary(preview);
  return preview;
}

/** "resolves 1 finding, creates none; deletes 760,471 metastore shards". */
export function previewSummary(p: Pick<RepairPreview, 'resolves' | 'creates' | 'collections' | 'operations'>): string {
  const findings = `resolves ${p.resolves.length ? plural(p.resolves.length, 'finding') : 'none'}, creates ${p.creates.length ? plural(p.creates.length, 'finding') : 'none'}`;
  const effects: string[] = [];
  for (const [verb, field] of [
    ['deletes', 'deleted'],
    ['changes', 'changed'],
    ['creates', 'created'],
  ] as const) {
    const counted = p.collections.filter((c) => c[field] > 0).map((c) => plural(c[field], ENTITY_NOUNS[c.collection]));
    if (counted.length) effects.push(`${verb} ${counted.join(', ')}`);
  }
  const refused = p.operations.reduce((n, o) => n + o.refused, 0);
  if (refused) effects.push(`${plural(refused, 'item')} refused`);
  return `${findings}; ${effects.length ? effects.join('; ') : 'changes nothing'}`;
}

/** The preview as a read-only document (the editor's Preview) and as `cluster-check --dry-run` prints it. */
export function renderPreviewText(p: RepairPreview, heading: readonly string[] = []): string {
  const out: string[] = [`Preview: ${p.title} [${p.safety}]`, ...heading, p.summary, ''];
  out.push('Nothing has been sent: this is the plan applied to a copy of the synced model.', '');
  out.push('Operations');
  if (!p.operations.length) out.push('  none');
  for (const o of p.operations) {
    out.push(
      `  ${o.command}: ${plural(o.operations, 'request')}, ${plural(o.items, 'item')} → ${formatCount(o.applied)} applied, ` +
        `${formatCount(o.refused)} refused, ${formatCount(o.unchanged)} unchanged`,
    );
    for (const r of o.refusals) out.push(`    refused ${r.key}: ${r.message}`);
    if (o.refused > o.refusals.length) out.push(`    … ${plural(o.refused - o.refusals.length, 'more refusal')}`);
  }
  out.push('', 'Entities (before → after)');
  if (!p.collections.length) out.push('  no entity changes');
  for (const c of p.collections) {
    const parts = [
      c.deleted ? `${formatCount(c.deleted)} deleted` : '',
      c.changed ? `${formatCount(c.changed)} changed` : '',
      c.created ? `${formatCount(c.created)} created` : '',
    ];
    out.push(`  ${c.collection}: ${formatCount(c.before)} → ${formatCount(c.after)} (${parts.filter(Boolean).join(', ')})`);
  }
  const section = (title: string, list: readonly PreviewFinding[]) => {
    out.push('', `${title} (${formatCount(list.length)})`);
    for (const f of list) out.push(`  ${f.id} [${f.severity}] ${formatCount(f.countBefore)} → ${formatCount(f.countAfter)}: ${f.message}`);
  };
  section('Findings resolved', p.resolves);
  section('Findings created', p.creates);
  // Those the plan does not touch are listed by id only.
  const moved = p.remains.filter((f) => f.countBefore !== f.countAfter);
  section('Findings that remain, with another count', moved);
  const same = p.remains.filter((f) => f.countBefore === f.countAfter);
  if (same.length) out.push('', `Findings that remain as they are (${formatCount(same.length)})`, ...same.map((f) => `  ${f.id}`));
  if (p.notes.length) {
    out.push('', 'Notes');
    for (const n of p.notes) out.push(`  ${n}`);
  }
  return out.join('\n') + '\n';
}
