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
 *
 * Rolling restart of the ingesters (quickwit #6531: orphaned shards after a
 * rolling restart). One ingester at a time leaves the cluster. The control
 * plane closes the shards it led and opens replacements elsewhere; the
 * indexers read the closed shards to their end from the follower, publish
 * `~eof`, and the control plane deletes them from the metastore and its
 * model. The ingester comes back and, as `IngesterState::init` does, reloads
 * every non-empty queue of its WAL as a Closed shard, including the ones the
 * metastore no longer has. Its startup `advise_reset_shards` is what would
 * drop them. Buggy: during the rollout that call fails (in #6531 the same
 * rollout restarted the control plane) and nothing retries it, so the
 * orphans stay and their WAL is never truncated. Fixed
 * *(inferred: upstream's proposed fix, PR #6769, not merged when this was
 * written, re-runs the reset periodically)*: the ingester retries the reset;
 * the control plane answers "delete" for every shard the metastore does not
 * have.
 */
import {
  keys,
  positionOffset,
  type Fault,
  type IngesterShard,
  type MetastoreShard,
  type RepairCommand,
  type RepairItemResult,
} from '../protocol';
import { buggy, noTarget, rejected, type SimContext, type Sizes, type SubsystemSim } from './context';
import { ulid } from './prng';
import { applied, dedupeTargets, refused } from '../protocol';
import { expectVersion, recreate } from './repair-support';
import { CONTROL_PLANE, INGESTER, METASTORE } from '../protocol/systems';

const SOURCE_ID = '_ingest-source';
const INGESTERS = ['ingester-0', 'ingester-1', 'ingester-2', 'ingester-3'];
const INDEX_NAMES = ['app-logs', 'audit-events', 'otel-logs-v0_7', 'otel-traces-v0_7'];
/** The control plane's model as an entity-less thing: its epoch is the repair expectation. */
export const CONTROL_PLANE_KEY = 'control-plane';
/** Logical seconds an ingester is away in a rolling restart: pod deleted, rescheduled, WAL reopened. */
export const RESTART_DOWN_TICKS = 4;
/**
 * When the fixed ingester re-runs a shard reset that failed. PR #6769 re-runs
 * it once a minute; the simulator retries on the next tick, so that a short
 * run shows the fix.
 */
export const RESET_RETRY_TICKS = 1;

/** A fault's target ingesters: the one named (refused if there is no such ingester), or all of them. */
function ingestersFor(target: string | undefined): string[] {
  if (target === undefined) return INGESTERS;
  if (!INGESTERS.includes(target)) throw rejected(`no ingester ${target}; ingesters are ${INGESTERS.join(', ')}`);
  return [target];
}

/** Quickwit renders positions as `~` + the offset zero-padded to 20 digits. */
function position(offset: number): string {
  return offset < 0 ? '' : `~${String(offset).padStart(20, '0')}`;
}

interface Source {
  indexUid: string;
  docMappingUid: string;
}

/** A queue in the WAL of an ingester that is down: the shard as it stopped, and how far its queue was truncated. */
interface WalQueue {
  shard: IngesterShard;
  /** The indexers truncate a queue as they publish: what was published when the ingester stopped. */
  truncatedThrough: string;
}

/** An ingester whose process is down: only its disk remembers its shards. */
interface DownIngester {
  stoppedAt: number;
  /** By metastore shard key. */
  wal: Map<string, WalQueue>;
}

export class QuickwitSim implements SubsystemSim {
  readonly subsystem = 'shards' as const;
  readonly commands = [
    'quickwit.deleteShards',
    'quickwit.restartControlPlane',
    'quickwit.adviseResetShards',
    'quickwit.restoreShards',
  ] as const;

  controlPlaneEpoch = 1;
  private sources: Source[] = [];
  /** Ingesters whose `init_shards` fails (the fault). */
  private readonly initFails = new Set<string>();
  private autoCreateFails = false;
  private autoCreatedIndexes = 0;
  /** Ingesters still waiting for their turn in a rolling restart, in order. */
  private rollout: string[] = [];
  private readonly down = new Map<string, DownIngester>();
  /** Metastore shards the control plane closed that are not deleted yet, and whether the indexers published them to the end. */
  private readonly closing = new Map<string, 'closed' | 'published'>();
  /** Ingesters whose startup reset failed, and when the periodic reset (fixed) runs next. */
  private readonly resetDue = new Map<string, number>();
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
        if (meta && positionOffset(meta.publishPositionInclusive) < positionOffset(s.replicationPositionInclusive)) {
          store.patch('quickwit.metastore.shards', meta.key, {
            publishPositionInclusive: s.replicationPositionInclusive,
            publishToken: `indexer-0:${this.ctx.time}`,
          });
        }
        const next = positionOffset(s.replicationPositionInclusive) + 1 + rng.int(100);
        store.patch('quickwit.ingester.shards', s.key, { replicationPositionInclusive: position(next) });
      }
    }
    // While a fault is armed the control plane keeps trying to scale up, once per tick.
    if (this.initFails.size > 0) this.applyLoad(1);
    if (this.autoCreateFails) this.autoCreateIndex();
    if (this.rollout.length > 0 || this.down.size > 0 || this.closing.size > 0 || this.resetDue.size > 0) this.continueRollingRestart();
  }

  inject(fault: Fault, target: string | undefined): string {
    switch (fault) {
      case 'quickwit.ingesterInitFails': {
        const targets = ingestersFor(target);
        for (const t of targets) this.initFails.add(t);
        return `init_shards now fails on ${targets.join(', ')}`;
      }
      case 'quickwit.autoCreateIndexFails':
        noTarget(fault, target);
        this.autoCreateFails = true;
        return 'auto_create_indexes now fails after opening shards';
      case 'quickwit.ingesterRollingRestart': {
        const targets = ingestersFor(target).filter((t) => !this.rollout.includes(t) && !this.down.has(t));
        this.rollout.push(...targets);
        if (this.down.size === 0 && this.rollout.length > 0) this.stopIngester(this.rollout.shift()!);
        const away = [...this.down.keys()].join(', ');
        return `rolling restart: ${away} left the cluster (back in ${RESTART_DOWN_TICKS} ticks)${this.rollout.length ? `, then ${this.rollout.join(', ')}` : ''}`;
      }
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
      case 'quickwit.restoreShards':
        return recreate(this.ctx.store, METASTORE, cmd.targets, 'metastore shard');
      default:
        throw new Error(`quickwit cannot run ${cmd.command}`);
    }
  }

  /**
   * A writer's `init_shards` that succeeds this time (the control plane
   * retrying a scale-up whose init failed): the leader ingester opens each
   * named metastore shard, then the control plane adds it to its model, the
   * fixed order. Skipped: a shard the metastore does not have, a closed one,
   * one its leader already holds, one whose leader is restarting.
   */
  initShards(shardKeys: readonly string[]): { initialised: string[]; skipped: Array<{ key: string; reason: string }> } {
    const { store } = this.ctx;
    const initialised: string[] = [];
    const skipped: Array<{ key: string; reason: string }> = [];
    for (const key of new Set(shardKeys)) {
      const meta = store.get(METASTORE, key);
      let reason: string | undefined;
      if (!meta) reason = 'no such metastore shard';
      else if (meta.shardState === 'closed') reason = 'closed';
      else if (this.down.has(meta.leaderId)) reason = `its leader ${meta.leaderId} is restarting`;
      else if (store.has(INGESTER, keys.ingesterShard(meta.leaderId, meta.indexUid, meta.sourceId, meta.shardId)))
        reason = `already held by ${meta.leaderId}`;
      if (reason || !meta) {
        skipped.push({ key, reason: reason ?? 'no such metastore shard' });
        continue;
      }
      const source = { indexUid: meta.indexUid, docMappingUid: meta.docMappingUid };
      this.initShardOnIngester(source, meta.shardId, meta.leaderId);
      this.addToModel(source, meta.shardId, meta.leaderId);
      initialised.push(key);
    }
    return { initialised, skipped };
  }

  // ------------------------------------------------------------ mechanism --

  private nextMs(): number {
    this.ulidMs = Math.max(this.ulidMs + 1, 1_700_000_000_000 + this.ctx.time * 1000);
    return this.ulidMs;
  }

  /** The control plane places shards on the ingesters that are in the cluster. */
  private leaderFor(i: number): string {
    const up = this.down.size === 0 ? INGESTERS : INGESTERS.filter((id) => !this.down.has(id));
    return up[i % up.length];
  }

  private followerFor(leader: string): string | null {
    const at = INGESTERS.indexOf(leader);
    for (let k = 1; k < INGESTERS.length; k++) {
      const id = INGESTERS[(at + k) % INGESTERS.length];
      if (!this.down.has(id)) return id;
    }
    return null;
  }

  /** One scale-up of `source` with `leader` as the new shard's leader. */
  private scaleUp(source: Source, leader: string): void {
    const shardId = ulid(this.nextMs(), this.ctx.rng);
    const follower = this.followerFor(leader);
    // An ingester that is down cannot answer init_shards either.
    const initFails = this.initFails.has(leader) || this.down.has(leader);
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
      // The simulator has no wall clock: the mirror writes the time of its write, as open_shards does.
      updateTimestamp: null,
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

  // ------------------------------------------------- rolling restart --

  private continueRollingRestart(): void {
    const { time } = this.ctx;
    this.finishClosedShards();
    for (const [id, d] of this.down) {
      const away = time - d.stoppedAt;
      if (away === 1) this.closeShardsLedBy(id);
      if (away >= RESTART_DOWN_TICKS) this.rejoin(id);
    }
    // The rollout moves on once the previous ingester is back.
    if (this.down.size === 0 && this.rollout.length > 0) this.stopIngester(this.rollout.shift()!);
    if (!buggy(this.ctx, 'shards')) {
      for (const [id, due] of this.resetDue) if (time >= due && !this.down.has(id)) this.resetShards(id);
    }
  }

  /** The pod is deleted: the node leaves the cluster, and its shards are only in its WAL on disk. */
  private stopIngester(id: string): void {
    const { store } = this.ctx;
    const wal = new Map<string, WalQueue>();
    for (const s of store.all(INGESTER)) {
      if (s.ingesterId !== id) continue;
      const metaKey = keys.shard(s.indexUid, s.sourceId, s.shardId);
      wal.set(metaKey, { shard: s, truncatedThrough: store.get(METASTORE, metaKey)?.publishPositionInclusive ?? '' });
      store.delete(INGESTER, s.key);
    }
    store.delete('quickwit.ingesters', id);
    this.down.set(id, { stoppedAt: this.ctx.time, wal });
  }

  /**
   * The control plane sees the leader leave: it closes the leader's shards,
   * metastore first, then its model, so that nothing more is written to them,
   * and opens as many replacements on the ingesters still up. *(inferred:
   * how upstream gets these shards closed was not traced; closing them is
   * what lets the indexers finish them and the metastore delete them.)*
   */
  private closeShardsLedBy(id: string): void {
    const { store } = this.ctx;
    let replacements = 0;
    for (const s of store.all(CONTROL_PLANE)) {
      if (s.leaderId !== id || s.shardState === 'closed') continue;
      if (!store.patch(METASTORE, s.key, { shardState: 'closed' })) continue;
      store.patch(CONTROL_PLANE, s.key, { shardState: 'closed' });
      this.closing.set(s.key, 'closed');
      const source = this.sources.find((x) => x.indexUid === s.indexUid);
      if (source) this.scaleUp(source, this.leaderFor(replacements++));
    }
  }

  /**
   * The indexers read each closed shard to its end, from its leader or, while
   * the leader is away, from its follower (which holds the same replicated
   * records), and publish `~eof`. On the next tick the control plane deletes
   * the shard from the metastore and its model (quickwit #4882 logs "received
   * eof shard via gossip … deleting shards … removing shards from model") and
   * the leader, if it is up, drops its queue. A leader that is down keeps it.
   */
  private finishClosedShards(): void {
    const { store, time } = this.ctx;
    for (const [key, stage] of [...this.closing]) {
      const meta = store.get(METASTORE, key);
      if (!meta || meta.shardState !== 'closed') {
        this.closing.delete(key); // deleted or reopened by someone else meanwhile
        continue;
      }
      if (stage === 'closed') {
        if (!this.readable(meta)) continue;
        store.patch(METASTORE, key, { publishPositionInclusive: '~eof', publishToken: `indexer-0:${time}` });
        this.closing.set(key, 'published');
      } else {
        store.delete(METASTORE, key);
        store.delete(CONTROL_PLANE, key);
        store.delete(INGESTER, keys.ingesterShard(meta.leaderId, meta.indexUid, meta.sourceId, meta.shardId));
        this.closing.delete(key);
      }
    }
  }

  private readable(meta: MetastoreShard): boolean {
    if (!this.down.has(meta.leaderId)) return true;
    return meta.followerId !== null && !this.down.has(meta.followerId);
  }

  /**
   * The ingester starts again. `IngesterState::init` recovers every queue of
   * its WAL that still holds records as a Closed shard (read-only) and deletes
   * the empty ones. Then it asks the control plane which of them to delete or
   * truncate (`advise_reset_shards`); in the rollout that call fails and
   * upstream does not retry it (#6531).
   */
  private rejoin(id: string): void {
    const { store, time } = this.ctx;
    const d = this.down.get(id)!;
    this.down.delete(id);
    store.put('quickwit.ingesters', { key: id, nodeId: id, status: 'ready' });
    for (const { shard, truncatedThrough } of d.wal.values()) {
      if (positionOffset(shard.replicationPositionInclusive) <= positionOffset(truncatedThrough)) continue;
      store.put(INGESTER, {
        key: shard.key,
        ingesterId: shard.ingesterId,
        indexUid: shard.indexUid,
        sourceId: shard.sourceId,
        shardId: shard.shardId,
        shardState: 'closed',
        replicationPositionInclusive: shard.replicationPositionInclusive,
      });
    }
    this.resetDue.set(id, time + RESET_RETRY_TICKS);
  }

  /**
   * Ingester `reset_shards` → control plane `advise_reset_shards`: the
   * control plane answers from its model, which it loads from the metastore:
   * delete the shards it does not have (the metastore deletes a shard only
   * once it is closed and published to its end), truncate the others (the
   * simulator does not model truncation).
   */
  private resetShards(id: string): void {
    const { store } = this.ctx;
    this.resetDue.delete(id);
    for (const s of store.all(INGESTER)) {
      if (s.ingesterId === id && !store.has(METASTORE, keys.shard(s.indexUid, s.sourceId, s.shardId))) store.delete(INGESTER, s.key);
    }
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
    const onIngester = store.get(INGESTER, keys.ingesterShard(shard.leaderId, shard.indexUid, shard.sourceId, shard.shardId));
    // A leader that is restarting still holds the shard in its WAL.
    const inWal = onIngester ? undefined : this.down.get(shard.leaderId)?.wal.get(target.key);
    const held = onIngester ?? inWal?.shard;
    if (held) {
      const where = onIngester ? `initialised on ${shard.leaderId}` : `in the WAL of ${shard.leaderId} (restarting)`;
      if (shard.shardState !== 'closed') {
        return refused(target.key, `${where} and ${shard.shardState}; deleting it would lose records — close it first`);
      }
      const replicated = positionOffset(held.replicationPositionInclusive);
      if (positionOffset(shard.publishPositionInclusive) < replicated) {
        return refused(
          target.key,
          `closed but not fully published (published ${shard.publishPositionInclusive || 'nothing'}, replicated ${held.replicationPositionInclusive} ${where}); deleting it would lose records`,
        );
      }
      // The metastore cannot reach an ingester that is down: its WAL keeps the queue.
      if (onIngester) store.delete(INGESTER, onIngester.key);
    }
    // The model may know it (after a control-plane restart); it goes with the row.
    store.delete(CONTROL_PLANE, target.key);
    store.delete(METASTORE, target.key);
    return applied(
      target.key,
      held ? 'deleted: closed and fully published' : `deleted: never initialised on ${shard.leaderId}, it held no data`,
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
    store.delete(INGESTER, s.key);
    if (store.has(CONTROL_PLANE, metaKey)) store.delete(CONTROL_PLANE, metaKey);
    // Dropping the queue changes the ingester whatever the shard's state, so it is never "unchanged".
    return applied(target.key, `reset on ${s.ingesterId}: dropped the ${s.shardState} shard (absent from the metastore)`);
  }
}
