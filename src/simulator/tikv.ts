/**
 * TiKV in-memory engine: region cache metas and each store's write batch
 * (tikv/tikv #17700, fix PR #17703).
 *
 * The apply loop prepares the batch for each message's region
 * (`prepare_for_region`: current region, `is_written`), writes
 * (`write_impl`), and clears the batch at commit. Buggy: when the last
 * message of a round only triggers a commit (an admin/change message), the
 * batch is empty, `write_impl` does not run and the clear is skipped, so a
 * region stays marked written at the commit boundary. The next prepare for
 * another region asserts ("region N is prepared for write before, but it is
 * not the current region") and the node panics; here the store's apply loop
 * halts instead of crashing the simulator. Fixed: the batch is cleared even
 * when it is empty.
 */
import { keys, type CachedRegion, type Fault, type RepairCommand, type RepairItemResult, type WriteBatch } from '../protocol';
import { buggy, rejected, type SimContext, type Sizes, type SubsystemSim } from './context';
import { applied, dedupeTargets, refused, unchanged } from '../protocol';
import { expectVersion } from './repair-support';

const STORES = [1, 4, 5];
const FIRST_REGION_ID = 26_960;

export class TikvSim implements SubsystemSim {
  readonly subsystem = 'regions' as const;
  readonly commands = ['tikv.clearPreparedMark', 'tikv.evictRegion'] as const;

  /** Stores whose next apply round ends with a commit-only message (the fault). */
  private readonly commitOnlyNext = new Set<number>();

  constructor(private readonly ctx: SimContext) {}

  build(size: Sizes): void {
    const { store, rng } = this.ctx;
    let regionId = FIRST_REGION_ID;
    for (let i = 0; i < size.regions; i++) {
      const storeId = STORES[i % STORES.length];
      regionId += 1 + rng.int(4);
      // Disjoint key ranges: region i covers [t_i, t_{i+1}).
      const bound = (n: number) => `7480000000000000ff${n.toString(16).padStart(6, '0')}`;
      store.put('tikv.regions', {
        key: keys.region(storeId, regionId),
        storeId,
        regionId,
        epochVersion: 1 + rng.int(40),
        start: bound(i),
        end: bound(i + 1),
        state: 'Active',
        safePoint: 0,
        inGc: false,
        isWritten: false,
        evictInfo: null,
      });
    }
    for (const storeId of STORES) {
      store.put('tikv.writeBatches', {
        key: keys.writeBatch(storeId),
        storeId,
        currentRegion: null,
        writtenRegions: [],
        regionCacheStatus: 'Cached',
        sequenceNumber: 0,
        atCommitBoundary: true,
      });
    }
  }

  tick(): void {
    for (const storeId of STORES) this.applyRound(storeId);
  }

  inject(fault: Fault, target: string | undefined): string {
    if (fault !== 'tikv.commitOnlyMessage') throw rejected(`${fault} is not a tikv fault`);
    const storeId = target === undefined ? STORES[0] : STORES.find((s) => keys.writeBatch(s) === target);
    if (storeId === undefined) throw rejected(`no store ${target}; stores are ${STORES.map(keys.writeBatch).join(', ')}`);
    this.commitOnlyNext.add(storeId);
    return `the next apply round on ${keys.writeBatch(storeId)} ends with a commit-only message`;
  }

  repair(cmd: RepairCommand): RepairItemResult[] {
    if (cmd.command !== 'tikv.clearPreparedMark' && cmd.command !== 'tikv.evictRegion') throw new Error(`tikv cannot run ${cmd.command}`);
    const evict = cmd.command === 'tikv.evictRegion';
    return dedupeTargets(cmd.targets).map((t) => {
      const found = expectVersion(this.ctx.store, 'tikv.regions', t, 'region');
      if ('refusal' in found) return found.refusal;
      return evict ? this.evict(found.entity) : this.clearMark(found.entity);
    });
  }

  // ------------------------------------------------------------ mechanism --

  private batchOf(storeId: number): WriteBatch {
    return this.ctx.store.get('tikv.writeBatches', keys.writeBatch(storeId))!;
  }

  /** A region still marked written that the next prepare would assert on. */
  private staleMark(batch: WriteBatch): CachedRegion | undefined {
    if (!batch.atCommitBoundary) return undefined;
    for (const id of batch.writtenRegions) {
      const r = this.ctx.store.get('tikv.regions', keys.region(batch.storeId, id));
      if (r?.isWritten) return r;
    }
    return undefined;
  }

  private applyRound(storeId: number): void {
    const { store, rng } = this.ctx;
    const batch = this.batchOf(storeId);
    if (!batch) return;
    // The node would panic on the next prepare: its apply loop makes no progress.
    if (this.staleMark(batch)) return;
    const regions = store.all('tikv.regions').filter((r) => r.storeId === storeId && r.state === 'Active');
    if (regions.length === 0) return;
    // Ordinary writes: prepare, write, commit, clear. The regions end where they started.
    const writes = 1 + rng.int(3);
    store.patch('tikv.writeBatches', batch.key, { sequenceNumber: batch.sequenceNumber + writes });
    if (!this.commitOnlyNext.delete(storeId)) return;
    // The round's last message only triggers a commit: prepare_for_region runs, write_impl does not.
    const region = rng.pick(regions);
    store.patch('tikv.regions', region.key, { isWritten: true });
    store.patch('tikv.writeBatches', batch.key, {
      currentRegion: region.regionId,
      writtenRegions: [region.regionId],
      atCommitBoundary: false,
    });
    if (buggy(this.ctx, 'regions')) {
      // The batch is empty, so the clear after write_impl is skipped; the commit boundary is reached with the mark set.
      store.patch('tikv.writeBatches', batch.key, { atCommitBoundary: true });
    } else {
      this.clearBatch(storeId, region);
    }
  }

  /** The fix: clear the batch at commit even when it is empty. */
  private clearBatch(storeId: number, region: CachedRegion): void {
    const { store } = this.ctx;
    store.patch('tikv.regions', region.key, { isWritten: false });
    store.patch('tikv.writeBatches', keys.writeBatch(storeId), { currentRegion: null, writtenRegions: [], atCommitBoundary: true });
  }

  // -------------------------------------------------------------- repairs --

  private unmark(region: CachedRegion): void {
    const { store } = this.ctx;
    const batch = this.batchOf(region.storeId);
    const written = batch.writtenRegions.filter((id) => id !== region.regionId);
    store.patch('tikv.writeBatches', batch.key, {
      writtenRegions: written,
      currentRegion: batch.currentRegion === region.regionId ? null : batch.currentRegion,
    });
  }

  /** A batch keeps every region it prepared marked until it is written (`record_last_written_region`). */
  private inBatch(batch: WriteBatch, region: CachedRegion): boolean {
    return !batch.atCommitBoundary && (batch.currentRegion === region.regionId || batch.writtenRegions.includes(region.regionId));
  }

  private clearMark(region: CachedRegion): RepairItemResult {
    const batch = this.batchOf(region.storeId);
    if (!region.isWritten) return unchanged(region.key, 'not marked prepared for write; nothing to clear');
    if (this.inBatch(batch, region)) {
      return refused(region.key, 'a batch being written prepared it (it stays marked until the batch is written); the mark is legitimate');
    }
    this.ctx.store.patch('tikv.regions', region.key, { isWritten: false });
    this.unmark(region);
    return applied(region.key, `cleared the stale is_written mark; ${batch.key}'s apply loop can prepare the next region`);
  }

  private evict(region: CachedRegion): RepairItemResult {
    const batch = this.batchOf(region.storeId);
    if (this.inBatch(batch, region)) {
      return refused(region.key, 'a batch being written prepared it; evict it after the commit');
    }
    this.unmark(region);
    this.ctx.store.delete('tikv.regions', region.key);
    return applied(
      region.key,
      `evicted from the in-memory engine (${region.state} → PendingEvict → Evicting → gone); reads go to the disk engine, nothing is lost`,
    );
  }
}
