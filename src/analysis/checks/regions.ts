/**
 * TiKV in-memory engine: a write batch keeps every region it prepared marked
 * (`is_written`) until it is written (tikv/tikv
 * components/in_memory_engine/src/write_batch.rs, `record_last_written_region`),
 * so a mark is legitimate while its region is among the batch's prepared
 * regions (`writtenRegions`, the current one included) and the batch has not
 * reached its commit boundary. A mark left after that is stale: the next
 * prepare of that region asserts and the node panics (tikv #17700).
 */
import type { CachedRegion, EntityRef, Finding, WriteBatch } from '../../protocol';
import { plural } from '../../protocol/format';
import type { ClusterModel } from '../model';
import { batchedOption, facts, factsPer, isAre, makeFinding, pushSample, stillAt, TargetBatcher } from './common';

/** Why a written mark is stale, or undefined if the mark is legitimate. */
export function staleMarkReason(
  region: Pick<CachedRegion, 'isWritten' | 'regionId'>,
  batch: Pick<WriteBatch, 'atCommitBoundary' | 'currentRegion'> & { writtenRegions?: readonly number[] },
): string | undefined {
  if (!region.isWritten) return undefined;
  if (batch.atCommitBoundary) return 'the batch is at a commit boundary';
  if (batch.currentRegion === region.regionId) return undefined;
  // Without the batch's prepared regions (a timeline label carries only the current one), a batch in progress may hold it.
  if (batch.writtenRegions === undefined)
    return batch.currentRegion === null ? undefined : `the batch's current region is ${batch.currentRegion}`;
  if (batch.writtenRegions.includes(region.regionId)) return undefined;
  return `the batch in progress did not prepare it (its current region is ${batch.currentRegion ?? 'not exported'}; earlier prepared: ${batch.writtenRegions.join(', ') || 'none'})`;
}

/** `regions/stale-prepared`: regions marked prepared for write that the batch is not on. One finding per store. */
export function checkStalePreparedRegions(model: ClusterModel): Finding[] {
  const { collections } = model;
  const batches = new Map<number, WriteBatch>();
  for (const b of collections['tikv.writeBatches'].values()) batches.set(b.storeId, b);
  const stale = new Map<number, { regions: CachedRegion[]; reason: string }>();
  for (const r of collections['tikv.regions'].values()) {
    if (!r.isWritten) continue;
    const batch = batches.get(r.storeId);
    if (!batch) continue;
    const reason = staleMarkReason(r, batch);
    if (!reason) continue;
    const s = stale.get(r.storeId);
    if (s) s.regions.push(r);
    else stale.set(r.storeId, { regions: [r], reason });
  }

  const fact = facts(model.status);
  const findings: Finding[] = [];
  for (const [storeId, { regions, reason }] of stale) {
    const batch = batches.get(storeId)!;
    const samples: EntityRef[] = [];
    // Both rest on the write batch being where it was seen (its current region, its boundary).
    const batchAsSeen = [stillAt('tikv.writeBatches', batch)];
    const clear = new TargetBatcher('tikv.clearPreparedMark', batchAsSeen);
    const evict = new TargetBatcher('tikv.evictRegion', batchAsSeen);
    for (const r of regions) {
      pushSample(samples, 'tikv.regions', r);
      clear.add(r);
      evict.add(r);
    }
    const ids =
      regions
        .slice(0, 5)
        .map((r) => r.regionId)
        .join(', ') + (regions.length > 5 ? ', …' : '');
    findings.push(
      makeFinding('regions/stale-prepared', {
        group: batch.key,
        message:
          `Store ${storeId}: ${plural(regions.length, 'region')} (${ids}) ${regions.length === 1 ? 'is' : 'are'} still marked ` +
          `prepared for write, but ${reason}. The next prepare asserts and the node panics.`,
        count: regions.length,
        samples,
        facts: [
          ...factsPer(
            regions,
            (r) =>
              fact.entity(
                'tikv.regions',
                r,
                `Region ${r.regionId} (epoch ${r.epochVersion}, ${r.state}) of store ${storeId} is marked prepared for write (is_written).`,
              ),
            (rest) =>
              fact.group(
                'tikv.regions',
                `store ${storeId}`,
                rest.length,
                rest[0]!.key,
                `${plural(rest.length, 'other region')} of store ${storeId} ${isAre(rest.length)} marked too.`,
              ),
          ),
          fact.entity(
            'tikv.writeBatches',
            batch,
            `Store ${storeId}'s write batch says current_region = ${batch.currentRegion ?? 'none'}, at commit boundary = ${batch.atCommitBoundary} ` +
              `(sequence ${batch.sequenceNumber}), written_regions = [${batch.writtenRegions.join(', ')}]: ${reason}.`,
          ),
        ],
        repairs: [
          ...batchedOption(
            {
              id: 'clear-prepared-mark',
              title: `Clear the stale prepared mark of ${plural(regions.length, 'region')} on store ${storeId}`,
              safety: 'safe',
              description:
                'Clears is_written, as the upstream fix (#17703) does when the batch is empty. Cached data is untouched. ' +
                'A running TiKV has no API for it: a gateway refuses it (restart the store instead).',
            },
            clear,
          ),
          ...batchedOption(
            {
              id: 'evict-region',
              title: `Evict ${plural(regions.length, 'region')} from store ${storeId}'s in-memory engine`,
              safety: 'safe',
              description:
                'The region cache is derived from the disk engine, so evicting loses nothing; reads go to disk until it is loaded again. ' +
                'A running TiKV decides eviction itself and offers no API for it: a gateway refuses it (restart the store instead).',
            },
            evict,
          ),
        ],
      }),
    );
  }
  return findings;
}
