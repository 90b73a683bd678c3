/**
 * Quickwit: metastore, control plane model and ingesters, each with its own
 * view of the shards (quickwit-oss/quickwit #5008, fix PR #5029).
 *
 * Buggy order (the incident): `open_shards` writes the metastore rows, then
 * `init_shards` on the leader ingester fails and nothing cleans up, so the
 * metastore keeps an open shard that the control plane's model never learned
 * of and no ingester holds. The `auto_create_indexes` error path leaks the
 * same way. Under sustained load the control plane keeps scaling up, which is
 * how 763,471 rows piled up next to ~3,000 live shards.
 *
 * Fixed order (upstream): init on the ingester first, then the metastore,
 * then the model, so a failed init leaves nothing behind; the auto-create
 * error path deletes what it opened.
 */
import { keys, type Fault, type RepairCommand, type RepairItemResult } from '../protocol';
import { buggy, noTarget, rejected, type SimContext, type Sizes, type SubsystemSim } from './context';
import { ulid } from './prng';
import { applied, dedupeTargets, expectVersion, refused, unchanged } from './repair-support';

const SOURCE_ID = '_ingest-source';
const INGESTERS = ['ingester-0', 'ingester-1', 'ingester-2', 'ingester-3'];
const INDEX_NAMES = ['app-logs', 'audit-events', 'otel-logs-v0_7', 'otel-traces-v0_7'];
/** The control plane's model as an entity-less thing: its epoch is the repair expectation. */
export const CONTROL_PLANE_KEY = 'control-plane';

/** Quickwit renders positions as `~` + the offset zero-padded to 20 digits. */
function position(offset: number): string {
  return offset < 0 ? '' : `~${String(offset).padStart(20, '0')}`;
}
function offsetOf(pos: string): number {
  return pos === '' ? -1 : pos === '~eof' ? Number.MAX_SAFE_INTEGER : Number(pos.slice(1));
}

interface Source {
  indexUid: string;
  docMappingUid: string;
}

export class QuickwitSim implements SubsystemSim {
  readonly subsystem = 'shards' as const;
  readonly commands = ['quickwit.deleteShards', 'quickwit.restartControlPlane', 'quickwit.adviseResetShards'] as const;

  controlPlaneEpoch = 1;
  private sources: Source[] = [];
  /** Ingesters whose `init_shards` fails (the fault). */
  private readonly initFails = new Set<string>();
  private autoCreateFails = false;
  private autoCreatedIndexes = 0;
  /** Last ULID timestamp handed out; strictly increasing so shard ids sort in creation order. */
  private ulidMs = 0;

  constructor(private readonly ctx: SimContext) {}

  build(size: Sizes): void {
    const { store, rng } = this.ctx;
    for (const id of INGESTERS) store.put('quickwit.ingesters', { key: id, nodeId: id, status: 'ready' });
    this.ulidMs = 1_700_000_000_000;
    this.sources = INDEX_NAMES.map((name) => ({
      indexUid: `${name}:${ulid(this.nextMs(), rng)}`,
      docMappingUid: ulid(this.nextMs(), rng),
    }));
    // Source by source, so that shard keys arrive in key order (cheap index).
    const perSource = Math.ceil(size.liveShards / this.sources.length);
    let made = 0;
    for (const source of this.sources) {
      for (let i = 0; i < perSource && made < size.liveShards; i++, made++) this.scaleUp(source, INGESTERS[made % INGESTERS.length]);
    }
  }

  /** The source under the most load: where the control plane keeps scaling up. */
  get hotSource(): Source {
    return this.sources[0];
  }

  /**
   * Load exceeds the hot source's shard throughput: the control plane scales
   * up `attempts` times (the workload a scenario drives).
   */
  applyLoad(attempts: number): void {
    for (let i = 0; i < attempts; i++) this.scaleUp(this.hotSource, this.leaderFor(i));
  }

  tick(): void {
    const { store, rng } = this.ctx;
    // Ingestion: a few shards take records, and the indexers publish what the previous tick replicated.
    const live = store.size('quickwit.ingester.shards');
    if (live > 0) {
      const sample = store.all('quickwit.ingester.shards');
      for (let i = 0; i < 3; i++) {
        const s = sample[rng.int(sample.length)];
        if (s.shardState !== 'open') continue;
        const meta = store.get('quickwit.metastore.shards', keys.shard(s.indexUid, s.sourceId, s.shardId));
        if (meta && offsetOf(meta.publishPositionInclusive) < offsetOf(s.replicationPositionInclusive)) {
          store.patch('quickwit.metastore.shards', meta.key, {
            publishPositionInclusive: s.replicationPositionInclusive,
            publishToken: `indexer-0:${this.ctx.time}`,
          });
        }
        const next = offsetOf(s.replicationPositionInclusive) + 1 + rng.int(100);
        store.patch('quickwit.ingester.shards', s.key, { replicationPositionInclusive: position(next) });
      }
    }
    // While a fault is armed the control plane keeps trying to scale up, once per tick.
    if (this.initFails.size > 0) this.applyLoad(1);
    if (this.autoCreateFails) this.autoCreateIndex();
  }

  inject(fault: Fault, target: string | undefined): string {
    switch (fault) {
      case 'quickwit.ingesterInitFails': {
        const targets = target === undefined ? INGESTERS : [target];
        for (const t of targets) {
          if (!INGESTERS.includes(t)) throw rejected(`no ingester ${t}; ingesters are ${INGESTERS.join(', ')}`);
          this.initFails.add(t);
        }
        return `init_shards now fails on ${targets.join(', ')}`;
      }
      case 'quickwit.autoCreateIndexFails':
        noTarget(fault, target);
        this.autoCreateFails = true;
        return 'auto_create_indexes now fails after opening shards';
      default:
        throw rejected(`${fault} is not a quickwit fault`);
    }
  }

  repair(cmd: RepairCommand): RepairItemResult[] {
    switch (cmd.command) {
      case 'quickwit.deleteShards':
        return dedupeTargets(cmd.targets).map((t) => this.deleteShard(t));
      case 'quickwit.restartControlPlane':
        return [this.restartControlPlane(cmd.expectedEpoch)];
      case 'quickwit.adviseResetShards':
        return dedupeTargets(cmd.targets).map((t) => this.adviseReset(t));
      default:
        throw new Error(`quickwit cannot run ${cmd.command}`);
    }
  }

  // ------------------------------------------------------------ mechanism --

  private nextMs(): number {
    this.ulidMs = Math.max(this.ulidMs + 1, 1_700_000_000_000 + this.ctx.time * 1000);
    return this.ulidMs;
  }

  private leaderFor(i: number): string {
    return INGESTERS[i % INGESTERS.length];
  }

  /** One scale-up of `source` with `leader` as the new shard's leader. */
  private scaleUp(source: Source, leader: string): void {
    const shardId = ulid(this.nextMs(), this.ctx.rng);
    const follower = INGESTERS[(INGESTERS.indexOf(leader) + 1) % INGESTERS.length];
    const initFails = this.initFails.has(leader);
    if (buggy(this.ctx, 'shards')) {
      this.openShardInMetastore(source, shardId, leader, follower);
      if (initFails) return; // init_shards failed: nothing removes the metastore row
      this.initShardOnIngester(source, shardId, leader);
      this.addToModel(source, shardId, leader);
    } else {
      if (initFails) return; // fixed: nothing was written yet
      this.initShardOnIngester(source, shardId, leader);
      this.openShardInMetastore(source, shardId, leader, follower);
      this.addToModel(source, shardId, leader);
    }
  }

  /** A write for an index that does not exist yet: auto-create it, open its first shard, then fail. */
  private autoCreateIndex(): void {
    const { store, rng } = this.ctx;
    const source: Source = {
      indexUid: `auto-created-${++this.autoCreatedIndexes}:${ulid(this.nextMs(), rng)}`,
      docMappingUid: ulid(this.nextMs(), rng),
    };
    const shardId = ulid(this.nextMs(), rng);
    const leader = this.leaderFor(this.autoCreatedIndexes);
    this.openShardInMetastore(source, shardId, leader, null);
    // The error path: buggy leaves the row, fixed deletes what it opened.
    if (!buggy(this.ctx, 'shards')) store.delete('quickwit.metastore.shards', keys.shard(source.indexUid, SOURCE_ID, shardId));
  }

  private openShardInMetastore(source: Source, shardId: string, leader: string, follower: string | null): void {
    this.ctx.store.put('quickwit.metastore.shards', {
      key: keys.shard(source.indexUid, SOURCE_ID, shardId),
      indexUid: source.indexUid,
      sourceId: SOURCE_ID,
      shardId,
      leaderId: leader,
      followerId: follower,
      docMappingUid: source.docMappingUid,
      shardState: 'open',
      publishPositionInclusive: '',
      publishToken: null,
      createdAt: this.ctx.time,
    });
  }

  private initShardOnIngester(source: Source, shardId: string, leader: string): void {
    this.ctx.store.put('quickwit.ingester.shards', {
      key: keys.ingesterShard(leader, source.indexUid, SOURCE_ID, shardId),
      ingesterId: leader,
      indexUid: source.indexUid,
      sourceId: SOURCE_ID,
      shardId,
      shardState: 'open',
      replicationPositionInclusive: '',
    });
  }

  private addToModel(source: Source, shardId: string, leader: string): void {
    this.ctx.store.put('quickwit.controlPlane.shards', {
      key: keys.shard(source.indexUid, SOURCE_ID, shardId),
      indexUid: source.indexUid,
      sourceId: SOURCE_ID,
      shardId,
      leaderId: leader,
      shardState: 'open',
    });
  }

  // -------------------------------------------------------------- repairs --

  /**
   * Metastore `DeleteShards`. Safe only for a shard that holds no data: never
   * initialised on an ingester, or closed with everything published.
   */
  private deleteShard(target: { key: string; version: number }): RepairItemResult {
    const { store } = this.ctx;
    const found = expectVersion(store, 'quickwit.metastore.shards', target, 'metastore shard');
    if ('refusal' in found) return found.refusal;
    const shard = found.entity;
    const onIngester = store.get(
      'quickwit.ingester.shards',
      keys.ingesterShard(shard.leaderId, shard.indexUid, shard.sourceId, shard.shardId),
    );
    if (onIngester) {
      if (shard.shardState !== 'closed') {
        return refused(target.key, `initialised on ${shard.leaderId} and ${shard.shardState}; deleting it would lose records — close it first`);
      }
      const replicated = offsetOf(onIngester.replicationPositionInclusive);
      if (offsetOf(shard.publishPositionInclusive) < replicated) {
        return refused(
          target.key,
          `closed but not fully published (published ${shard.publishPositionInclusive || 'nothing'}, replicated ${onIngester.replicationPositionInclusive}); deleting it would lose records`,
        );
      }
      store.delete('quickwit.ingester.shards', onIngester.key);
    }
    // The model may know it (after a control-plane restart); it goes with the row.
    store.delete('quickwit.controlPlane.shards', target.key);
    store.delete('quickwit.metastore.shards', target.key);
    return applied(
      target.key,
      onIngester ? 'deleted: closed and fully published' : `deleted: never initialised on ${shard.leaderId}, it held no data`,
    );
  }

  /** The control plane restarts and reloads its model from the metastore (the upstream recovery path). */
  private restartControlPlane(expectedEpoch: number): RepairItemResult {
    const { store } = this.ctx;
    if (expectedEpoch !== this.controlPlaneEpoch) {
      return refused(
        CONTROL_PLANE_KEY,
        `the control plane moved on (expected epoch ${expectedEpoch}, it is at ${this.controlPlaneEpoch}); nothing changed`,
      );
    }
    const before = store.size('quickwit.controlPlane.shards');
    for (const s of store.all('quickwit.controlPlane.shards')) {
      if (!store.has('quickwit.metastore.shards', s.key)) store.delete('quickwit.controlPlane.shards', s.key);
    }
    // A snapshot: the loop writes to the store.
    let loaded = 0;
    for (const m of store.all('quickwit.metastore.shards')) {
      if (m.shardState === 'closed') continue;
      const existing = store.get('quickwit.controlPlane.shards', m.key);
      if (existing && existing.shardState === m.shardState && existing.leaderId === m.leaderId) continue;
      loaded++;
      store.put('quickwit.controlPlane.shards', {
        key: m.key,
        indexUid: m.indexUid,
        sourceId: m.sourceId,
        shardId: m.shardId,
        leaderId: m.leaderId,
        shardState: m.shardState,
      });
    }
    this.controlPlaneEpoch++;
    const after = store.size('quickwit.controlPlane.shards');
    return applied(
      CONTROL_PLANE_KEY,
      `control plane restarted (epoch ${this.controlPlaneEpoch}); model reloaded from the metastore: ${before} → ${after} shards (${loaded} learned)`,
    );
  }

  /** Ingester `advise_reset_shards`: the ingester drops a shard the metastore does not have. */
  private adviseReset(target: { key: string; version: number }): RepairItemResult {
    const { store } = this.ctx;
    const found = expectVersion(store, 'quickwit.ingester.shards', target, 'ingester shard');
    if ('refusal' in found) return found.refusal;
    const s = found.entity;
    const metaKey = keys.shard(s.indexUid, s.sourceId, s.shardId);
    if (store.has('quickwit.metastore.shards', metaKey)) {
      return refused(target.key, `the metastore still has ${metaKey}; it is not orphaned`);
    }
    store.delete('quickwit.ingester.shards', s.key);
    if (store.has('quickwit.controlPlane.shards', metaKey)) store.delete('quickwit.controlPlane.shards', metaKey);
    return s.shardState === 'closed'
      ? unchanged(target.key, 'was already closed; dropped from the ingester')
      : applied(target.key, `reset on ${s.ingesterId}: dropped (absent from the metastore)`);
  }
}
