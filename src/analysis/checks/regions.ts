/**
 * TiKV in-memory engine: only the write batch's current region may be marked
 * prepared for write, and none at a commit boundary; a stale mark makes the
 * next prepare assert and the node panic (tikv #17700).
 */
import type { CachedRegion, EntityRef, Finding, WriteBatch } from '../../protocol';
import { plural } from '../../protocol/format';
import type { ClusterModel } from '../model';
import { batchedOption, facts, factsPer, isAre, makeFinding, pushSample, stillAt, TargetBatcher } from './common';

/** Why a written mark is stale, or undefined if the mark is legitimate. */
export function staleMarkReason(
  region: Pick<CachedRegion, 'isWritten' | 'regionId'>,
  batch: Pick<WriteBatch, 'atCommitBoundary' | 'currentRegion'>,
): string | undefined {
  if (!region.isWritten) return undefined;
  if (batch.atCommitBoundary) return 'the batch is at a commit boundary';
  if (batch.currentRegion !== region.regionId) {
    return batch.currentRegion === null ? 'the batch has no current region' : `the batch's current region is ${batch.currentRegion}`;
  }
  return undefined;
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
    const ids = regions.slice(0, 5).map((r) => r.regionId).join(', ') + (regions.length > 5 ? ', …' : '');
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
            (r) => fact.entity('tikv.regions', r, `Region ${r.regionId} (epoch ${r.epochVersion}, ${r.state}) of store ${storeId} is marked prepared for write (is_written).`),
            (rest) => fact.group('tikv.regions', `store ${storeId}`, rest.length, rest[0]!.key, `${plural(rest.length, 'other region')} of store ${storeId} ${isAre(rest.length)} marked too.`),
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
              title: `Clear the stale prepared mark of ${plural(regions.length, 'region')}`,
              safety: 'safe',
              description: 'Clears is_written, as the upstream fix does when the batch is empty. Cached data is untouched.',
            },
            clear,
          ),
          ...batchedOption(
            {
              id: 'evict-region',
              title: `Evict ${plural(regions.length, 'region')} from the in-memory engine`,
              safety: 'safe',
              description: 'The region cache is derived from the disk engine, so evicting loses nothing; reads go to disk until it is loaded again.',
            },
            evict,
          ),
        ],
      }),
    );
  }
  return findings;
}

