/**
 * TiKV / PD: the HTTP routes' JSON ⇄ entities.
 *
 * - PD `GET /pd/api/v1/stores` (tikv/pd `server/api/router.go`,
 *   `pkg/response/store.go`, checked at a186e0cc; same shape in v8.5.0):
 *   `{count, stores: [{store: {id, address, status_address, state_name, version, …}, status: {capacity, available, …}}]}`.
 * - PD `GET /pd/api/v1/regions` (`pkg/response/region.go`): `{count, regions:
 *   [{id, start_key, end_key (upper-case hex), epoch: {conf_ver, version},
 *   peers: [{id, store_id, role_name}], leader, …}]}`.
 * - TiKV status server `GET /debug/ime/cached_regions` (tikv/tikv
 *   `src/server/status_server/mod.rs`, `handle_dumple_cached_regions`,
 *   checked at 8e964719; the route lacked its leading slash until #19547,
 *   so released versions before it answer 404): a JSON array of
 *   `{start, end (upper-case hex of the origin key), id, epoch_version,
 *   in_gc, safe_point, state, is_written}`, sorted by (start, end, …);
 *   `state` is `format!("{:?}")` of `RegionState`
 *   (`components/in_memory_engine/src/region_manager.rs`: Pending, Loading,
 *   Active, LoadingCanceled, PendingEvict, Evicting). 400 "In memory engine
 *   is not enabled" when the IME is off.
 *
 * `safePoint` is the TSO's physical part in ms (`safe_point >> 18`): a TSO does
 * not fit a JavaScript safe integer.
 *
 * What the routes do not show: the store id (the gateway knows which
 * status server it asked: PD's `status_address` names it), the eviction
 * reason (`evictInfo` is null), and the write batch (`RegionCacheWriteBatch`
 * is apply-thread state, never exported): `deriveWriteBatch` infers what a
 * gateway can conclude from two consecutive reads.
 *
 * Versions: a hash of the item's JSON (48 bits), so they change whenever any
 * field changes (epoch_version alone does not move when `is_written` does).
 */
import { createHash } from 'node:crypto';
import { keys, RegionState, type CachedRegion, type UnreadableRecord, type WriteBatch } from '../protocol';

/** A TSO's logical bits: `safe_point` is a TSO; the entity's `safePoint` is its physical part (ms since the epoch). */
const TSO_LOGICAL = 2 ** 18;

export function jsonVersion(value: unknown): number {
  return createHash('sha256').update(JSON.stringify(value)).digest().readUIntBE(0, 6);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function isUint(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** One item of `/debug/ime/cached_regions`, as TiKV serialises it. */
export interface ImeCachedRegionJson {
  start: string;
  end: string;
  id: number;
  epoch_version: number;
  in_gc: boolean;
  safe_point: number;
  state: string;
  is_written: boolean;
}

/** PD's store as `/pd/api/v1/stores` lists it (the fields the gateway uses). */
export interface PdStore {
  id: number;
  address: string;
  statusAddress: string;
  stateName: string;
}

export interface PdRegion {
  id: number;
  startKey: string;
  endKey: string;
  epoch: { confVer: number; version: number };
  peers: { id: number; storeId: number; roleName: string }[];
  leaderStoreId: number | null;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

function parseJson(text: string): Parsed<unknown> {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (e) {
    return { ok: false, reason: `not JSON: ${(e as Error).message}` };
  }
}

/** `/debug/ime/cached_regions` of one store → its cached regions, and the items that did not decode. */
export function decodeCachedRegions(
  text: string,
  storeId: number,
): Parsed<{ regions: CachedRegion[]; unreadable: UnreadableRecord[] }> {
  const json = parseJson(text);
  if (!json.ok) return json;
  if (!Array.isArray(json.value)) return { ok: false, reason: 'not a JSON array of cached regions' };
  const regions: CachedRegion[] = [];
  const unreadable: UnreadableRecord[] = [];
  json.value.forEach((item: unknown, i) => {
    const where = isObject(item) && isUint(item.id) ? `store ${storeId} region ${item.id}` : `store ${storeId} item ${i}`;
    const bad = (reason: string) => unreadable.push({ collection: 'tikv.regions', key: where, reason });
    if (!isObject(item)) return bad('not an object');
    const { start, end, id, epoch_version, in_gc, safe_point, state, is_written } = item;
    if (!isUint(id)) return bad('id is not an unsigned integer');
    if (typeof start !== 'string' || typeof end !== 'string' || !/^[0-9A-Fa-f]*$/.test(start) || !/^[0-9A-Fa-f]*$/.test(end)) {
      return bad('start/end are not hex strings');
    }
    if (!isUint(epoch_version)) return bad('epoch_version is not an unsigned integer');
    // A TSO (physical ms << 18 | logical) is beyond 2^53: the entity keeps its physical part, in ms.
    if (typeof safe_point !== 'number' || !Number.isInteger(safe_point) || safe_point < 0) return bad('safe_point is not an unsigned integer');
    if (typeof in_gc !== 'boolean' || typeof is_written !== 'boolean') return bad('in_gc/is_written are not booleans');
    const st = RegionState.safeParse(state);
    if (!st.success) return bad(`state ${JSON.stringify(state)} is not a RegionState`);
    const draft = {
      key: keys.region(storeId, id),
      storeId,
      regionId: id,
      epochVersion: epoch_version,
      start,
      end,
      state: st.data,
      safePoint: Math.floor(safe_point / TSO_LOGICAL),
      inGc: in_gc,
      isWritten: is_written,
      evictInfo: null,
    };
    regions.push({ ...draft, version: jsonVersion(item) });
  });
  return { ok: true, value: { regions, unreadable } };
}

/** Cached regions → the status route's body (the simulator serves it). */
export function encodeCachedRegions(regions: Iterable<CachedRegion>): string {
  const items: ImeCachedRegionJson[] = [...regions].map((r) => ({
    start: r.start.toUpperCase(),
    end: r.end.toUpperCase(),
    id: r.regionId,
    epoch_version: r.epochVersion,
    in_gc: r.inGc,
    safe_point: r.safePoint * TSO_LOGICAL,
    state: r.state,
    is_written: r.isWritten,
  }));
  // `cached_regions.sort()`: derive(Ord) compares the fields in order.
  items.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.end < b.end ? -1 : a.end > b.end ? 1 : a.id - b.id));
  return JSON.stringify(items);
}

/** `/pd/api/v1/stores` → the stores. */
export function decodePdStores(text: string): Parsed<PdStore[]> {
  const json = parseJson(text);
  if (!json.ok) return json;
  if (!isObject(json.value) || !Array.isArray(json.value.stores)) return { ok: false, reason: 'no stores array' };
  const out: PdStore[] = [];
  for (const s of json.value.stores as unknown[]) {
    const store = isObject(s) ? s.store : undefined;
    if (!isObject(store) || !isUint(store.id)) return { ok: false, reason: 'a store without store.id' };
    out.push({
      id: store.id,
      address: typeof store.address === 'string' ? store.address : '',
      statusAddress: typeof store.status_address === 'string' ? store.status_address : '',
      stateName: typeof store.state_name === 'string' ? store.state_name : 'Unknown',
    });
  }
  return { ok: true, value: out };
}

export function encodePdStores(stores: readonly PdStore[]): string {
  return JSON.stringify({
    count: stores.length,
    stores: stores.map((s) => ({
      store: { id: s.id, address: s.address, version: '8.5.0', status_address: s.statusAddress, state_name: s.stateName },
      status: { capacity: '100GiB', available: '60GiB', region_count: 0, leader_count: 0 },
    })),
  });
}

/** `/pd/api/v1/regions` → the regions (not needed by the rule; decoded to cross-check and for tests). */
export function decodePdRegions(text: string): Parsed<PdRegion[]> {
  const json = parseJson(text);
  if (!json.ok) return json;
  if (!isObject(json.value) || !Array.isArray(json.value.regions)) return { ok: false, reason: 'no regions array' };
  const out: PdRegion[] = [];
  for (const r of json.value.regions as unknown[]) {
    if (!isObject(r) || !isUint(r.id)) return { ok: false, reason: 'a region without id' };
    const epoch = isObject(r.epoch) ? r.epoch : {};
    const peers = Array.isArray(r.peers) ? r.peers.filter(isObject) : [];
    out.push({
      id: r.id,
      startKey: typeof r.start_key === 'string' ? r.start_key : '',
      endKey: typeof r.end_key === 'string' ? r.end_key : '',
      // protobuf's JSON omits zero fields: an absent conf_ver/version is 0.
      epoch: { confVer: isUint(epoch.conf_ver) ? epoch.conf_ver : 0, version: isUint(epoch.version) ? epoch.version : 0 },
      peers: peers.map((p) => ({ id: Number(p.id), storeId: Number(p.store_id), roleName: typeof p.role_name === 'string' ? p.role_name : 'Voter' })),
      leaderStoreId: isObject(r.leader) && isUint(r.leader.store_id) ? r.leader.store_id : null,
    });
  }
  return { ok: true, value: out };
}

export function encodePdRegions(regions: readonly PdRegion[]): string {
  return JSON.stringify({
    count: regions.length,
    regions: regions.map((r) => ({
      id: r.id,
      start_key: r.startKey.toUpperCase(),
      end_key: r.endKey.toUpperCase(),
      epoch: { conf_ver: r.epoch.confVer, version: r.epoch.version },
      peers: r.peers.map((p) => ({ id: p.id, store_id: p.storeId, role_name: p.roleName })),
      ...(r.leaderStoreId !== null ? { leader: { id: r.peers.find((p) => p.storeId === r.leaderStoreId)?.id ?? 0, store_id: r.leaderStoreId, role_name: 'Voter' } } : {}),
      cpu_usage: 0,
      written_bytes: 0,
      read_bytes: 0,
      written_keys: 0,
      read_keys: 0,
      approximate_size: 1,
      approximate_keys: 0,
    })),
  });
}

/**
 * What a gateway can conclude about a store's write batch from the status
 * route. `RegionCacheWriteBatch` is apply-thread state: it marks a region
 * (`prepare_for_region` sets `is_written`) and clears the mark when the
 * batch is written or dropped, within one apply round (well under a
 * millisecond to a few). So:
 *
 * - a mark first seen in this read may belong to a batch in progress: the
 *   batch is taken to be on it (`currentRegion`, not at a commit boundary);
 * - a mark already seen in the previous read (`pollMs` earlier) with the
 *   same epoch outlived any batch: the apply loop has been at a commit
 *   boundary since, so the mark is stale — unless a new batch on a hot
 *   region set it again in between, which a gateway cannot tell apart
 *   (the chance is the region's write duty cycle, squared over two reads);
 * - no marks: at a commit boundary, no current region.
 *
 * `sequenceNumber` is 0 (the batch's own sequence number is not exported);
 * `regionCacheStatus` is `Cached` (the route lists cached regions).
 */
export function deriveWriteBatch(storeId: number, regions: readonly CachedRegion[], previouslyMarked: ReadonlyMap<number, number>): WriteBatch {
  const marked = regions.filter((r) => r.isWritten).sort((a, b) => a.regionId - b.regionId);
  const fresh = marked.filter((r) => previouslyMarked.get(r.regionId) !== r.epochVersion);
  const current = fresh.length ? fresh[fresh.length - 1]! : undefined;
  const draft = {
    key: keys.writeBatch(storeId),
    storeId,
    currentRegion: current ? current.regionId : null,
    writtenRegions: marked.map((r) => r.regionId),
    regionCacheStatus: 'Cached' as const,
    sequenceNumber: 0,
    atCommitBoundary: current === undefined,
  };
  return { ...draft, version: jsonVersion(draft) };
}
