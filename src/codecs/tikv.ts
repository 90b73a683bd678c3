/**
 * TiKV / PD: the HTTP routes' JSON ⇄ entities.
 *
 * - PD `GET /pd/api/v1/stores` (tikv/pd `server/api/router.go`,
 *   `pkg/response/store.go`, checked at a186e0cc; same shape in v8.5.0):
 *   `{count, stores: [{store: {id, address, status_address, state_name, version, …}, status: {capacity, available, …}}]}`.
 * - PD `GET /pd/api/v1/regions` (`pkg/response/region.go`): `{count, regions:
 *   [{id, start_key, end_key (upper-case hex), epoch: {conf_ver, version},
 *   peers: [{id, store_id, role_name}], leader, …}]}`; `/region/key/{key}`
 *   and `/region/id/{id}` answer one such region.
 * - TiKV status server `GET /region/{id}` (`RegionMeta`,
 *   components/raftstore/src/store/region_meta.rs): the peer's
 *   `raft_apply.applied_index`.
 * - TiKV status server `GET /debug/ime/cached_regions` (tikv/tikv
 *   `src/server/status_server/mod.rs`, `handle_dumple_cached_regions`,
 *   checked at 8e964719 and v8.5.7; the route lacked its leading slash until
 *   #19547, so v8.5.0–v8.5.6 and v9.0.0-beta answer 404; the handler panics
 *   TiKV when a cached region's end key is empty, see
 *   src/gateway/sources/tikv.ts): a JSON array of
 *   `{start, end (upper-case hex of the origin key), id, epoch_version,
 *   in_gc, safe_point, state, is_written}`, sorted by (start, end, …);
 *   `state` is `format!("{:?}")` of `RegionState`
 *   (`components/in_memory_engine/src/region_manager.rs`: Pending, Loading,
 *   Active, LoadingCanceled, PendingEvict, Evicting). 400 "In memory engine
 *   is not enabled" when the IME is off.
 *
 * `safePoint` is the TSO's physical part in ms (`safe_point >> 18`), decoded
 * exactly: a TSO (up to 2^64) does not fit a JavaScript number, and
 * `JSON.parse` would round it to the nearest multiple of 64, which moves the
 * physical part by 1 ms when the logical part is near 2^18. The digits are
 * taken from the text and shifted as a BigInt.
 *
 * What the routes do not show: the store id (the gateway knows which
 * status server it asked: PD's `status_address` names it), the eviction
 * reason (`evictInfo` is null), and the write batch (`RegionCacheWriteBatch`
 * is apply-thread state, never exported): `deriveWriteBatch` infers it from
 * the marks, a mark counting as stale only when it persists (`MarkStreak`).
 *
 * Versions: a hash of the item's JSON (48 bits), so they change whenever any
 * field changes (epoch_version alone does not move when `is_written` does).
 */
import { createHash } from 'node:crypto';
import { compareVersions, keys, RegionState, type CachedRegion, type UnreadableRecord, type WriteBatch } from '../protocol';

/** A TSO's logical bits: `safe_point` is a TSO; the entity's `safePoint` is its physical part (ms since the epoch). */
const TSO_LOGICAL_BITS = 18n;
const U64_MAX = (1n << 64n) - 1n;

/** `"safe_point": 449500000000147455` → `"safe_point": "449500000000147455"`, so that `JSON.parse` keeps every digit. */
function quoteSafePoints(text: string): string {
  return text.replace(/("safe_point"\s*:\s*)(\d+)/g, '$1"$2"');
}

/** A TSO's digits → its physical part in ms, exactly; undefined if it is not a u64. */
export function tsoPhysicalMs(digits: string): number | undefined {
  if (!/^\d{1,20}$/.test(digits)) return undefined;
  const tso = BigInt(digits);
  if (tso > U64_MAX) return undefined;
  return Number(tso >> TSO_LOGICAL_BITS);
}

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
  /** `metapb.Store.version`: TiKV sets it to its `CARGO_PKG_VERSION` (src/server/raft_server.rs), e.g. `8.5.7`, `8.4.0-alpha`. */
  version: string;
  /** `metapb.Store.git_hash`: `TIKV_BUILD_GIT_HASH` at build time (`Unknown git hash` without it). */
  gitHash: string;
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
export function decodeCachedRegions(text: string, storeId: number): Parsed<{ regions: CachedRegion[]; unreadable: UnreadableRecord[] }> {
  const json = parseJson(quoteSafePoints(text));
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
    // A TSO (physical ms << 18 | logical) is beyond 2^53: the entity keeps its physical part, in ms, decoded exactly.
    const safePoint = typeof safe_point === 'string' ? tsoPhysicalMs(safe_point) : undefined;
    if (safePoint === undefined) return bad('safe_point is not an unsigned 64-bit integer');
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
      safePoint,
      inGc: in_gc,
      isWritten: is_written,
      evictInfo: null,
    };
    regions.push({ ...draft, version: jsonVersion({ ...item, safe_point }) });
  });
  return { ok: true, value: { regions, unreadable } };
}

/** Cached regions → the status route's body (the simulator serves it). */
export function encodeCachedRegions(regions: Iterable<CachedRegion>): string {
  const items = [...regions].map((r) => ({
    start: r.start.toUpperCase(),
    end: r.end.toUpperCase(),
    id: r.regionId,
    epoch_version: r.epochVersion,
    in_gc: r.inGc,
    // The TSO's digits, exactly (a JavaScript number would print 2^58-sized values rounded).
    safe_point: (BigInt(r.safePoint) << TSO_LOGICAL_BITS).toString(),
    state: r.state,
    is_written: r.isWritten,
  }));
  // `cached_regions.sort()`: derive(Ord) compares the fields in order.
  items.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.end < b.end ? -1 : a.end > b.end ? 1 : a.id - b.id));
  return JSON.stringify(items).replace(/"safe_point":"(\d+)"/g, '"safe_point":$1');
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
      version: typeof store.version === 'string' ? store.version : '',
      gitHash: typeof store.git_hash === 'string' ? store.git_hash : '',
    });
  }
  return { ok: true, value: out };
}

export function encodePdStores(stores: readonly PdStore[]): string {
  return JSON.stringify({
    count: stores.length,
    stores: stores.map((s) => ({
      store: {
        id: s.id,
        address: s.address,
        version: s.version,
        status_address: s.statusAddress,
        git_hash: s.gitHash,
        state_name: s.stateName,
      },
      status: { capacity: '100GiB', available: '60GiB', region_count: 0, leader_count: 0 },
    })),
  });
}

function regionFrom(r: unknown): PdRegion | undefined {
  if (!isObject(r) || !isUint(r.id)) return undefined;
  const epoch = isObject(r.epoch) ? r.epoch : {};
  const peers = Array.isArray(r.peers) ? r.peers.filter(isObject) : [];
  return {
    id: r.id,
    startKey: typeof r.start_key === 'string' ? r.start_key : '',
    endKey: typeof r.end_key === 'string' ? r.end_key : '',
    // protobuf's JSON omits zero fields: an absent conf_ver/version is 0.
    epoch: { confVer: isUint(epoch.conf_ver) ? epoch.conf_ver : 0, version: isUint(epoch.version) ? epoch.version : 0 },
    peers: peers.map((p) => ({
      id: Number(p.id),
      storeId: Number(p.store_id),
      roleName: typeof p.role_name === 'string' ? p.role_name : 'Voter',
    })),
    leaderStoreId: isObject(r.leader) && isUint(r.leader.store_id) ? r.leader.store_id : null,
  };
}

/** `/pd/api/v1/regions` → the regions (not needed by the rule; decoded to cross-check and for tests). */
export function decodePdRegions(text: string): Parsed<PdRegion[]> {
  const json = parseJson(text);
  if (!json.ok) return json;
  if (!isObject(json.value) || !Array.isArray(json.value.regions)) return { ok: false, reason: 'no regions array' };
  const out: PdRegion[] = [];
  for (const r of json.value.regions as unknown[]) {
    const region = regionFrom(r);
    if (!region) return { ok: false, reason: 'a region without id' };
    out.push(region);
  }
  return { ok: true, value: out };
}

/** `/pd/api/v1/region/key/{key}` (or `/region/id/{id}`) → one region (`pkg/response/region.go` `RegionInfo`). */
export function decodePdRegion(text: string): Parsed<PdRegion> {
  const json = parseJson(text);
  if (!json.ok) return json;
  const region = regionFrom(json.value);
  return region ? { ok: true, value: region } : { ok: false, reason: 'not a region (no id)' };
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
      ...(r.leaderStoreId !== null
        ? { leader: { id: r.peers.find((p) => p.storeId === r.leaderStoreId)?.id ?? 0, store_id: r.leaderStoreId, role_name: 'Voter' } }
        : {}),
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

/** `GET /region/{id}` of a TiKV status server (`RegionMeta`, components/raftstore/src/store/region_meta.rs) → what the gateway uses. */
export interface RegionApplyState {
  regionId: number;
  /** `raft_apply.applied_index`: the peer's `PeerStorage::apply_state`, moved by each apply result, i.e. after a batch holding the region's entries was written. */
  appliedIndex: number;
  epochVersion: number;
}

export function decodeRegionMeta(text: string): Parsed<RegionApplyState> {
  const json = parseJson(text);
  if (!json.ok) return json;
  const v = json.value;
  if (!isObject(v) || !isObject(v.raft_apply) || !isObject(v.region_state))
    return { ok: false, reason: 'not a RegionMeta (no raft_apply/region_state)' };
  const { applied_index } = v.raft_apply;
  const { id, epoch } = v.region_state;
  if (!isUint(applied_index) || !isUint(id))
    return { ok: false, reason: 'raft_apply.applied_index/region_state.id are not unsigned integers' };
  return {
    ok: true,
    value: { regionId: id, appliedIndex: applied_index, epochVersion: isObject(epoch) && isUint(epoch.version) ? epoch.version : 0 },
  };
}

/**
 * One region's `is_written` mark as the gateway has seen it over consecutive reads of its store.
 *
 * Upstream (tikv/tikv components/in_memory_engine/src/write_batch.rs at 8e964719): `prepare_for_region`
 * marks a region (`set_being_written`, only while it is Loading or Active), and a write batch keeps
 * *every* region it prepared marked (`record_last_written_region` pushes each into `written_regions`)
 * until the batch is written (`write_impl` → `clear_written_regions`) or cleared (`clear`, which since
 * #17703 also unmarks when the batch is empty). A hot region is re-marked by each batch that applies to
 * it (raftstore `ApplyContext::commit_opt` prepares it again right after each write), so a single read,
 * or a few, cannot tell a batch in progress from a stale mark.
 */
export interface MarkStreak {
  epochVersion: number;
  /** Gateway ms of the first read of this streak. */
  since: number;
  /** Consecutive reads that saw the mark at this epoch (with the applied index unchanged, once known). */
  reads: number;
  /** The region's `raft_apply.applied_index` on this store when the streak began (undefined: not read). */
  appliedIndex?: number;
}

/**
 * What makes a mark stale, not a batch in progress: the same mark, at the same `epoch_version`, in at
 * least `reads` consecutive reads spanning at least `ms`, with the region's applied index on that
 * store unchanged over the whole span (no batch holding the region's entries was written in between,
 * so no new batch re-marked it). `ms` defaults to 30 s: 60 times raftstore's `apply-yield-duration`
 * (500 ms, components/raftstore/src/store/config.rs), after which an apply poller yields and its round
 * ends with `write_to_db`. A store whose writes are stopped (RocksDB write stall) for longer than `ms`
 * also keeps its batch's marks with an unchanged applied index: the finding says so.
 */
export interface StaleMarkRule {
  reads: number;
  ms: number;
}
export const DEFAULT_STALE_MARK: StaleMarkRule = { reads: 3, ms: 30_000 };

/** The streaks after one read of a store: a mark seen again at the same epoch continues its streak; any other mark starts one; an unmarked region has none. */
export function advanceMarks(
  prev: ReadonlyMap<number, MarkStreak>,
  regions: readonly CachedRegion[],
  now: number,
): Map<number, MarkStreak> {
  const next = new Map<number, MarkStreak>();
  for (const r of regions) {
    if (!r.isWritten) continue;
    const p = prev.get(r.regionId);
    next.set(
      r.regionId,
      p && p.epochVersion === r.epochVersion ? { ...p, reads: p.reads + 1 } : { epochVersion: r.epochVersion, since: now, reads: 1 },
    );
  }
  return next;
}

/** A streak with the applied index read now: a different index (a batch with the region's entries was written) starts the streak again. */
export function withAppliedIndex(streak: MarkStreak, appliedIndex: number | undefined, now: number): MarkStreak {
  if (appliedIndex === undefined) return { ...streak, appliedIndex: undefined, since: now, reads: 1 };
  if (streak.appliedIndex === undefined || streak.appliedIndex !== appliedIndex)
    return { epochVersion: streak.epochVersion, since: now, reads: 1, appliedIndex };
  return streak;
}

export function isStaleMark(streak: MarkStreak, now: number, rule: StaleMarkRule = DEFAULT_STALE_MARK): boolean {
  return streak.appliedIndex !== undefined && streak.reads >= rule.reads && now - streak.since >= rule.ms;
}

/**
 * A store's write batch as far as the status route shows it. `RegionCacheWriteBatch` is apply-thread
 * state and never exported; the gateway sees only the marks. Marks that are not stale (`stale`, from
 * the streaks) are taken to belong to batches in progress: they are the batch's `writtenRegions`
 * (every region a batch prepared stays marked until it is written, so all of them are legitimate,
 * not only the highest). With no such mark the store is at a commit boundary. `currentRegion` is
 * null: which prepared region is the current one is not exported. `sequenceNumber` is 0 (not
 * exported); `regionCacheStatus` is `Cached` (the route lists cached regions).
 */
export function deriveWriteBatch(storeId: number, regions: readonly CachedRegion[], stale: ReadonlySet<number>): WriteBatch {
  const inProgress = regions
    .filter((r) => r.isWritten && !stale.has(r.regionId))
    .map((r) => r.regionId)
    .sort((a, b) => a - b);
  const draft = {
    key: keys.writeBatch(storeId),
    storeId,
    currentRegion: null,
    writtenRegions: inProgress,
    regionCacheStatus: 'Cached' as const,
    sequenceNumber: 0,
    atCommitBoundary: inProgress.length === 0,
  };
  return { ...draft, version: jsonVersion(draft) };
}

/**
 * The TiKV version of the stores the gateway reads, for `SourceContext.version`: PD's `store.version`
 * (TiKV's `CARGO_PKG_VERSION`). A pre-release (`8.4.0-alpha`, a master build) carries its
 * `git_hash` as build metadata (`8.4.0-alpha+git.d621ed9e4e`): the version alone does not say which
 * master commit it was built from. Stores that disagree (a rolling upgrade): the lowest version, and
 * `from` lists them all.
 */
export function tikvVersionOf(stores: readonly PdStore[]): { version: string; from: string } | undefined {
  const known = stores.filter((s) => /\d/.test(s.version));
  if (known.length === 0) return undefined;
  const label = (s: PdStore) =>
    s.version.includes('-') && /^[0-9a-f]{7,40}$/i.test(s.gitHash) ? `${s.version}+git.${s.gitHash.slice(0, 10).toLowerCase()}` : s.version;
  const sorted = [...known].sort((a, b) => (compareVersions(a.version, b.version) ?? 0) || a.id - b.id);
  const lowest = label(sorted[0]!);
  const all = [...new Set(sorted.map(label))];
  const from =
    all.length === 1
      ? `PD /pd/api/v1/stores: store.version of store ${sorted.map((s) => s.id).join(', ')}`
      : `PD /pd/api/v1/stores: ${sorted.map((s) => `store ${s.id} runs ${label(s)}`).join(', ')} (the lowest is shown)`;
  return { version: lowest, from };
}
