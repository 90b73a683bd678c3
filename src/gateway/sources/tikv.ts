/**
 * TiKV's in-memory engine regions, read over HTTP every `pollMs`: PD's
 * `/pd/api/v1/stores` (which store each status server is) and each TiKV
 * status server's `/debug/ime/cached_regions` (src/codecs/tikv.ts).
 *
 * - `tikv.regions`: the cached regions, per store, at a version hashed from
 *   the item's JSON.
 * - `tikv.writeBatches`: inferred per store (`deriveWriteBatch`): a mark
 *   still set one read later outlived any batch, so the store is taken to be
 *   at a commit boundary with that mark stale.
 *
 * PD unreachable → the subsystem is unavailable (with PD's error), retried
 * with backoff; one status server unreachable → an unreadable record for
 * its store (its regions are not listed), the others are read.
 *
 * Repairs: TiKV has no API that clears a region's `is_written` or evicts one
 * region from the in-memory engine (the status server's IME route is
 * read-only; eviction is TiKV's own decision), so both commands are refused
 * with that reason. Nothing is faked.
 */
import type { CachedRegion, RepairCommand, RepairItemResult, UnreadableRecord, WriteBatch } from '../../protocol';
import { decodeCachedRegions, decodePdStores, deriveWriteBatch, type PdStore } from '../../codecs/tikv';
import { refuseAll } from '../../cluster/store-backend';
import type { GatewayConfig } from '../config';
import type { SourceContext, SubsystemSource } from '../source';

type TikvConfig = NonNullable<GatewayConfig['tikv']>;

const MAX_BACKOFF_MS = 60_000;
const REQUEST_TIMEOUT_MS = 10_000;

export const NO_TIKV_REPAIR_API =
  'TiKV exposes no API to clear a region\'s is_written mark or to evict one region from its in-memory engine ' +
  '(the status server\'s /debug/ime/cached_regions is read-only, and eviction is decided inside TiKV), so the gateway cannot do this repair. ' +
  'Restarting the TiKV store rebuilds its in-memory engine empty, which drops the stale mark.';

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

async function get(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  const body = await res.text();
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status} ${body.slice(0, 200)}`);
  return body;
}

function join(base: string, path: string): string {
  return base.replace(/\/+$/, '') + path;
}

export function createTikvSource(config: TikvConfig, all: GatewayConfig): SubsystemSource {
  let ctx: SourceContext | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let failures = 0;
  let reading: Promise<void> | undefined;
  /** Per store: region id → epoch version of the marks seen in the previous read. */
  const marked = new Map<number, Map<number, number>>();

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
    const regions: CachedRegion[] = [];
    const batches: WriteBatch[] = [];
    const unreadable: UnreadableRecord[] = [];
    await Promise.all(
      config.tikvStatus.map(async (entry) => {
        const url = typeof entry === 'string' ? entry : entry.url;
        const storeId = typeof entry === 'string' ? byStatus.get(statusKey(url))?.id : entry.storeId;
        if (storeId === undefined) {
          unreadable.push({ collection: 'tikv.regions', key: url, reason: `PD lists no store with status_address ${statusKey(url)}; name it as {"storeId", "url"}` });
          return;
        }
        try {
          const body = await get(join(url, '/debug/ime/cached_regions'));
          const decoded = decodeCachedRegions(body, storeId);
          if (!decoded.ok) throw new Error(decoded.reason);
          regions.push(...decoded.value.regions);
          unreadable.push(...decoded.value.unreadable);
          const prev = marked.get(storeId) ?? new Map<number, number>();
          batches.push(deriveWriteBatch(storeId, decoded.value.regions, prev));
          marked.set(storeId, new Map(decoded.value.regions.filter((r) => r.isWritten).map((r) => [r.regionId, r.epochVersion])));
        } catch (e) {
          marked.delete(storeId);
          unreadable.push({ collection: 'tikv.regions', key: `store ${storeId} (${url})`, reason: errText(e).slice(0, 1000) });
        }
      }),
    );
    c.replace('tikv.regions', regions);
    c.unreadable('tikv.regions', unreadable);
    c.replace('tikv.writeBatches', batches);
    failures = 0;
    c.health({ state: 'ok' });
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
