/**
 * TiKV's in-memory engine regions, read over HTTP every `pollMs` (src/codecs/tikv.ts):
 *
 * - PD `/pd/api/v1/stores`: which store each status server is, and the TiKV version each store
 *   runs (`store.version`, `store.git_hash`), shown as the subsystem's version.
 * - Only with `"pollCachedRegions": true`: each TiKV status server's `/debug/ime/cached_regions`,
 *   and `/region/{id}` for the regions it shows marked (their applied index).
 *
 * Why the status route is opt-in: its handler (tikv/tikv src/server/status_server/mod.rs,
 * `handle_dumple_cached_regions`, at 8e964719 and v8.5.7) calls `keys::origin_key(end)` on every
 * cached region, and `origin_key` asserts that the key starts with `z`
 * (components/keys/src/lib.rs). A region with an empty end key is cached with the end
 * `DATA_MAX_KEY` (`{`, `enc_end_key`), so asking a store whose in-memory engine caches the last
 * region panics the status thread, and TiKV's panic hook exits the process
 * (components/tikv_util/src/lib.rs, `set_panic_hook`). No released version is safe. Even when the
 * user opts in, a store that holds a peer of the last region (asked of PD each read) is not polled.
 *
 * Health: PD unreachable → the subsystem is unavailable with PD's error, retried with backoff.
 * Not opted in, a 404 (the route lacked its leading slash before #19547: v8.5.0–v8.5.6,
 * v9.0.0-beta), a 400 (the engine is off), a store not safe to poll or not reachable → both
 * collections are unavailable with the reasons (what was read is still shown): never empty.
 *
 * Stale marks: a mark is stale only when it persists (`MarkStreak`, `isStaleMark`): the same mark
 * at the same epoch over `reads` consecutive reads spanning `staleMarkMs`, with the region's applied
 * index unchanged. Every other mark is a batch in progress.
 *
 * Repairs: TiKV has no API that clears a region's `is_written` or evicts one region from the
 * in-memory engine, so both commands are refused, always, with the operator's remedy (listed in
 * the status through `refusing`, so previews and quick fixes say so before anything is sent).
 */
import type { CachedRegion, RepairCommand, RepairItemResult, UnreadableRecord, WriteBatch } from '../../protocol';
import {
  advanceMarks,
  decodeCachedRegions,
  decodePdRegion,
  decodePdStores,
  decodeRegionMeta,
  DEFAULT_STALE_MARK,
  deriveWriteBatch,
  isStaleMark,
  tikvVersionOf,
  withAppliedIndex,
  type MarkStreak,
  type PdRegion,
  type PdStore,
} from '../../codecs/tikv';
import { refuseAll } from '../../cluster/store-backend';
import type { GatewayConfig } from '../config';
import type { SourceContext, SubsystemSource } from '../source';
import { SYSTEMS } from '../../protocol/systems';

type TikvConfig = NonNullable<GatewayConfig['tikv']>;

const MAX_BACKOFF_MS = 60_000;
const REQUEST_TIMEOUT_MS = 10_000;
/** Pages through PD's regions from the top of the key space to the last region (end key empty); a guard against a loop. */
const MAX_LAST_REGION_HOPS = 16;

export const NO_TIKV_REPAIR_API =
  "TiKV exposes no API to clear a region's is_written mark or to evict one region from its in-memory engine " +
  "(the mark lives in the apply thread's RegionCacheWriteBatch and is cleared only when that batch is written or cleared; " +
  "the status server's /debug/ime/cached_regions is read-only; eviction is decided inside TiKV, and a marked region's " +
  'deletion waits for the mark anyway), so the gateway cannot do this repair. Remedy: restart that TiKV store ' +
  '(its in-memory engine and write batches start empty; the cache is rebuilt from the disk engine, nothing is lost), ' +
  'and upgrade to a release with #17703 (v8.5.0 or later).';

export const CACHED_REGIONS_PANIC =
  'GET /debug/ime/cached_regions panics TiKV, and the store exits, when its in-memory engine caches a region with an empty end key ' +
  '(the handler calls keys::origin_key on the end key, which asserts; tikv src/server/status_server/mod.rs and components/keys/src/lib.rs, ' +
  'still so at v8.5.7 and master 8e964719)';

export const NOT_POLLED_REASON =
  `not read: ${CACHED_REGIONS_PANIC}. To read it anyway, set "pollCachedRegions": true in the gateway config's tikv section ` +
  '(stores holding a peer of the last region are still skipped)';

/** Why a status server answered 404 on the route: the route string lacked its leading slash until #19547. */
function notServedReason(version: string | undefined): string {
  return (
    `TiKV ${version ?? '(version unknown)'} does not serve /debug/ime/cached_regions (HTTP 404): the route was registered without its ` +
    'leading slash from #17677 until #19547, so it answers only from v8.5.7 and on master after 2026-04-23 (v8.5.0–v8.5.6 and v9.0.0-beta answer 404)'
  );
}

/** `http://h:p/x/` → `h:p/x`: how a status URL is compared with PD's `status_address`. */
export function statusKey(address: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(address) ? address : `http://${address}`;
  try {
    const u = new URL(withScheme);
    return `${u.host}${u.pathname}`.replace(/\/+$/, '').toLowerCase();
  } catch {
    return address.toLowerCase();
  }
}

function errText(e: unknown): string {
  if (e instanceof Error) {
    const cause = (e as { cause?: unknown }).cause;
    return cause instanceof Error ? `${e.message} (${cause.message})` : e.message;
  }
  return String(e);
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    url: string,
  ) {
    super(`GET ${url}: HTTP ${status} ${body.slice(0, 200)}`);
  }
}

async function get(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const body = await res.text();
  if (!res.ok) throw new HttpError(res.status, body, url);
  return body;
}

function join(base: string, path: string): string {
  return base.replace(/\/+$/, '') + path;
}

/** PD's last region (the one whose end key is empty): from the region holding the top of the key space, on to its end. */
async function lastRegion(pd: string): Promise<PdRegion> {
  let key = 'FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF';
  for (let hop = 0; hop < MAX_LAST_REGION_HOPS; hop++) {
    const parsed = decodePdRegion(await get(join(pd, `/pd/api/v1/region/key/${key}?format=hex`)));
    if (!parsed.ok) throw new Error(`PD /pd/api/v1/region/key: ${parsed.reason}`);
    if (parsed.value.endKey === '') return parsed.value;
    key = parsed.value.endKey;
  }
  throw new Error(`PD /pd/api/v1/region/key: no region with an empty end key after ${MAX_LAST_REGION_HOPS} regions`);
}

export function createTikvSource(config: TikvConfig, all: GatewayConfig): SubsystemSource {
  let ctx: SourceContext | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let failures = 0;
  let reading: Promise<void> | undefined;
  const staleRule = { reads: DEFAULT_STALE_MARK.reads, ms: config.staleMarkMs ?? DEFAULT_STALE_MARK.ms };
  /** Per store: the marks seen in consecutive reads. */
  const streaks = new Map<number, Map<number, MarkStreak>>();

  function unavailable(c: SourceContext, reason: string): void {
    c.collectionHealth('tikv.regions', { state: 'unavailable', reason: reason.slice(0, 2048) });
    c.collectionHealth('tikv.writeBatches', { state: 'unavailable', reason: reason.slice(0, 2048) });
  }

  /** One store's cached regions, its marks' streaks advanced, and its inferred batch. */
  async function readStore(
    url: string,
    store: PdStore | undefined,
    storeId: number,
  ): Promise<{ regions: CachedRegion[]; unreadable: UnreadableRecord[]; batch: WriteBatch }> {
    let body: string;
    try {
      body = await get(join(url, '/debug/ime/cached_regions'));
    } catch (e) {
      if (e instanceof HttpError && e.status === 404) throw new Error(notServedReason(store?.version), { cause: e });
      if (e instanceof HttpError && e.status === 400) {
        throw new Error(`the in-memory engine answers 400: ${e.body.slice(0, 200)} (enable in-memory-engine in TiKV's config)`, {
          cause: e,
        });
      }
      throw e;
    }
    const decoded = decodeCachedRegions(body, storeId);
    if (!decoded.ok) throw new Error(`/debug/ime/cached_regions: ${decoded.reason}`);
    const now = Date.now();
    const next = advanceMarks(streaks.get(storeId) ?? new Map(), decoded.value.regions, now);
    // A mark's applied index: a batch holding the region's entries was written when it moves.
    await Promise.all(
      [...next].map(async ([regionId, streak]) => {
        let applied: number | undefined;
        try {
          const meta = decodeRegionMeta(await get(join(url, `/region/${regionId}`)));
          applied = meta.ok ? meta.value.appliedIndex : undefined;
        } catch {
          applied = undefined;
        }
        next.set(regionId, withAppliedIndex(streak, applied, now));
      }),
    );
    streaks.set(storeId, next);
    const stale = new Set([...next].filter(([, s]) => isStaleMark(s, now, staleRule)).map(([id]) => id));
    return {
      regions: decoded.value.regions,
      unreadable: decoded.value.unreadable,
      batch: deriveWriteBatch(storeId, decoded.value.regions, stale),
    };
  }

  async function readAll(): Promise<void> {
    const c = ctx!;
    let stores: PdStore[];
    try {
      const parsed = decodePdStores(await get(join(config.pd, '/pd/api/v1/stores')));
      if (!parsed.ok) throw new Error(`PD /pd/api/v1/stores: ${parsed.reason}`);
      stores = parsed.value;
    } catch (e) {
      failures++;
      c.health({ state: 'unavailable', reason: `cannot read PD at ${config.pd}: ${errText(e)}` });
      return;
    }
    const byStatus = new Map(stores.map((s) => [statusKey(s.statusAddress), s]));
    const byId = new Map(stores.map((s) => [s.id, s]));
    const targets = config.tikvStatus.map((entry) => {
      const url = typeof entry === 'string' ? entry : entry.url;
      const storeId = typeof entry === 'string' ? byStatus.get(statusKey(url))?.id : entry.storeId;
      return { url, storeId, store: storeId === undefined ? undefined : byId.get(storeId) };
    });
    const polled = targets.flatMap((t) => (t.store ? [t.store] : []));
    const version = tikvVersionOf(polled.length ? polled : stores.filter((s) => s.stateName !== 'Tombstone'));
    c.version(version ? { system: SYSTEMS.tikv.title, ...version } : undefined);
    failures = 0;

    if (!config.pollCachedRegions) {
      streaks.clear();
      unavailable(c, NOT_POLLED_REASON);
      c.health({ state: 'ok' });
      return;
    }

    // Stores that may cache the last region: asking them would crash them.
    let unsafe: (storeId: number) => string | undefined;
    try {
      const last = await lastRegion(config.pd);
      const holders = new Set(last.peers.map((p) => p.storeId));
      unsafe = (id) =>
        holders.has(id)
          ? `not polled: store ${id} holds a peer of region ${last.id}, whose end key is empty; if its in-memory engine caches it, ${CACHED_REGIONS_PANIC}. ` +
            'Remove this status server from tikvStatus to check the other stores'
          : undefined;
    } catch (e) {
      unsafe = () =>
        `not polled: cannot tell from PD which stores hold the region with the empty end key (${errText(e)}); ${CACHED_REGIONS_PANIC}`;
    }

    const regions: CachedRegion[] = [];
    const batches: WriteBatch[] = [];
    const unreadable: UnreadableRecord[] = [];
    const failed: string[] = [];
    await Promise.all(
      targets.map(async ({ url, storeId, store }) => {
        if (storeId === undefined) {
          failed.push(`${url}: PD lists no store with status_address ${statusKey(url)}; name it as {"storeId", "url"}`);
          return;
        }
        const skip = unsafe(storeId);
        if (skip) {
          streaks.delete(storeId);
          failed.push(`store ${storeId} (${url}): ${skip}`);
          return;
        }
        try {
          const read = await readStore(url, store, storeId);
          regions.push(...read.regions);
          unreadable.push(...read.unreadable);
          batches.push(read.batch);
        } catch (e) {
          streaks.delete(storeId);
          failed.push(`store ${storeId} (${url}): ${errText(e)}`);
        }
      }),
    );
    c.replace('tikv.regions', regions);
    c.unreadable('tikv.regions', unreadable);
    c.replace('tikv.writeBatches', batches);
    // A store not read is unknown, never "no stale marks": the rule waits until every configured store is read.
    if (failed.length) unavailable(c, failed.sort().join('; '));
    c.health({
      state: 'ok',
      reason: 'polling /debug/ime/cached_regions ("pollCachedRegions": true): it panics a store that caches a region with an empty end key',
    });
  }

  function read(): Promise<void> {
    reading ??= readAll()
      .catch((e) => ctx!.health({ state: 'unavailable', reason: errText(e) }))
      .finally(() => {
        reading = undefined;
      });
    return reading;
  }

  function schedule(): void {
    if (closed) return;
    const delay = failures === 0 ? all.pollMs : Math.min(MAX_BACKOFF_MS, all.pollMs * 2 ** Math.min(failures, 10));
    timer = setTimeout(() => void read().then(schedule), delay);
    timer.unref?.();
  }

  return {
    subsystem: 'regions',
    collections: ['tikv.regions', 'tikv.writeBatches'],
    commands: ['tikv.clearPreparedMark', 'tikv.evictRegion'],
    async start(c) {
      ctx = c;
      c.refusing('tikv.clearPreparedMark', NO_TIKV_REPAIR_API);
      c.refusing('tikv.evictRegion', NO_TIKV_REPAIR_API);
      if (config.pollCachedRegions) {
        c.log(
          `WARNING: "pollCachedRegions": true: ${CACHED_REGIONS_PANIC}. Stores that hold a peer of the last region are skipped; a region cached before a split with the old empty end key is not seen by that guard.`,
        );
      }
      await read();
      schedule();
    },
    async repair(command: RepairCommand): Promise<RepairItemResult[]> {
      return refuseAll(command, NO_TIKV_REPAIR_API);
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await reading;
    },
  };
}
