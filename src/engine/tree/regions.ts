/**
 * The Regions view (TiKV): store → its write batch and its cached regions. The summary knows the
 * stores (the groups of their cached regions).
 */
import { KEYS, REGIONS, WRITE_BATCHES, type EntityOf } from '../../protocol';
import { collectionOf, count, list, type GroupMaker, type TreeLayout } from './layout';

/** A store's group (`store-<id>`), for both views. */
function storeGroup(g: GroupMaker, key: string, regions: number) {
  return g.group(key, key, count(regions, 'cached regions'), 'server', g.groupFindings(key));
}

export const regionsLayout: TreeLayout = {
  children(ctx, path) {
    const stores = new Map<number, EntityOf<typeof REGIONS>[]>();
    for (const b of ctx.col(WRITE_BATCHES).values()) if (!stores.has(b.storeId)) stores.set(b.storeId, []);
    for (const r of ctx.col(REGIONS).values()) {
      const list = stores.get(r.storeId);
      if (list) list.push(r);
      else stores.set(r.storeId, [r]);
    }
    if (path.length === 0) {
      const ids = [...stores.keys()].sort((a, b) => a - b);
      return list(ids, (id) => storeGroup(ctx, KEYS.writeBatch.format(id), stores.get(id)!.length));
    }
    const storeId = KEYS.writeBatch.parse(path[0])?.storeId;
    const regions = storeId === undefined ? undefined : stores.get(storeId);
    if (storeId === undefined || !regions || path.length > 1) return null;
    regions.sort((a, b) => a.regionId - b.regionId);
    const batch = ctx.col(WRITE_BATCHES).get(KEYS.writeBatch.format(storeId));
    const batchNodes = batch
      ? [
          ctx.entity(
            WRITE_BATCHES,
            batch.key,
            'write batch',
            `current ${batch.currentRegion ?? 'none'} · written [${batch.writtenRegions.join(', ')}]${batch.atCommitBoundary ? ' · at commit boundary' : ''}`,
            false,
            'layers',
          ),
        ]
      : [];
    return {
      count: batchNodes.length + regions.length,
      make: (i) => {
        if (i < batchNodes.length) return batchNodes[i];
        const r = regions[i - batchNodes.length];
        return ctx.entity(
          REGIONS,
          r.key,
          `region ${r.regionId}`,
          `${r.state === 'Active' ? 'cached' : r.state}${r.isWritten ? ' · prepared for write' : ''}`,
          false,
          'symbol-array',
        );
      },
    };
  },

  firstViewDepth: 1,
  firstView(fv) {
    const stores = fv.groups(REGIONS);
    const ids = [...stores.keys()].sort((a, b) => (KEYS.writeBatch.parse(a)?.storeId ?? 0) - (KEYS.writeBatch.parse(b)?.storeId ?? 0));
    return list(ids, (id) => storeGroup(fv, id, stores.get(id)!.count));
  },

  entityPath(model, collection, key) {
    if (collection !== REGIONS && collection !== WRITE_BATCHES) return undefined;
    const e = collectionOf(model, collection).get(key);
    return e ? [KEYS.writeBatch.format(e.storeId)] : undefined;
  },
};
