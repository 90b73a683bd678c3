/**
 * What every store-backed cluster does the same way: paged reads and change
 * events from its entity store, and the rules every repair goes through
 * before and after the cluster's own write (the incarnation it was planned
 * on, the request-id replay, the preconditions, the result). The simulator
 * and the gateway differ only in how they build their entities and apply a
 * repair.
 */
import {
  COLLECTION_NAMES,
  encodeColumnsPage,
  summariseCollection,
  ErrorCodes,
  RpcException,
  type Caller,
  type ClusterStatus,
  type CollectionName,
  type EntityOf,
  type EventsNotification,
  type ListResult,
  type PageEncoding,
  type Precondition,
  type RepairCommand,
  type RepairItemResult,
  type RepairParams,
  type RepairResult,
  type SummaryResult,
} from '../protocol';
import type { ClusterBackend } from './backend';
import { ReplayCache } from './replay-cache';
import { Telemetry } from './telemetry';
import { decodeCursor, encodeCursor, EVENTS_PER_NOTIFICATION, type Store } from './store';

/** Repair results kept for `requestId` replays: entries, and bytes (a result echoes client-chosen keys). */
const REPAIR_CACHE_SIZE = 1024;
const REPAIR_CACHE_BYTES = 32 * 1024 * 1024;

export abstract class StoreBackend implements ClusterBackend {
  abstract readonly serverName: string;
  protected abstract store: Store;
  protected readonly repairCache = new ReplayCache<RepairResult>(REPAIR_CACHE_SIZE, REPAIR_CACHE_BYTES, repairResultSize);
  private readonly listeners = new Set<(n: EventsNotification) => void>();
  /** Repairs by command and outcome, reads per source: what `/metrics` reports (src/cluster/metrics.ts). */
  readonly telemetry = new Telemetry();

  abstract status(): ClusterStatus;
  abstract repair(params: RepairParams, caller?: Caller): RepairResult | Promise<RepairResult>;
  /** This run of this cluster (see `ClusterStatus.incarnation`). */
  abstract get incarnation(): string;
  /** The logical time change notifications carry. */
  protected abstract get time(): number;
  /** A component's epoch, for `{ epoch }` preconditions; undefined when this cluster has no such component. */
  protected abstract epochOf(component: Extract<Precondition, { epoch: string }>['epoch']): number | undefined;

  onEvents(listener: (n: EventsNotification) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * One page, in the connection's encoding (every store-backed cluster, the simulator and the
   * gateway, pages here). A `columns-v1` page whose entities do not share one shape goes as objects.
   */
  list(collection: CollectionName, cursor: string | null | undefined, limit: number, encoding?: PageEncoding): ListResult {
    let after: string | undefined;
    if (cursor) {
      after = decodeCursor(cursor);
      if (after === undefined) throw new RpcException(ErrorCodes.InvalidParams, 'cursor: not a cursor this cluster handed out');
    }
    const page = this.store.page(collection, after, limit);
    const common = {
      collection,
      nextCursor: page.more && page.lastKey !== undefined ? encodeCursor(page.lastKey) : null,
      seq: this.store.seq,
      total: this.store.size(collection),
    };
    const columns = encoding === 'columns-v1' ? encodeColumnsPage(collection, page.items) : undefined;
    return columns ? { ...common, encoding: 'columns-v1', page: columns } : { ...common, items: page.items };
  }

  /**
   * `cluster.summary`, from the store in one pass per collection: entities are counted where they
   * are, never copied or paged (763,471 shards: tens of ms, against seconds for the pages).
   */
  summary(): SummaryResult | Promise<SummaryResult> {
    const collections: SummaryResult['collections'] = {};
    for (const c of COLLECTION_NAMES) collections[c] = summariseCollection(c, this.store.values(c));
    return { seq: this.store.seq, collections };
  }

  /** Each collection as served, read-only and not copied: the model `/metrics` runs the checks on. */
  collections<C extends CollectionName>(c: C): ReadonlyMap<string, EntityOf<C>> {
    return this.store.view(c);
  }

  get(collection: CollectionName, keys: string[]): { items: unknown[]; seq: number } {
    const items = keys.map((k) => this.store.get(collection, k)).filter((e) => e !== undefined);
    return { items, seq: this.store.seq };
  }

  /**
   * The checks before a repair's own write: a repair planned on another
   * incarnation is refused whole (it throws); a `requestId` seen before
   * returns its first result. Undefined: go on.
   */
  protected admitRepair(params: RepairParams): RepairResult | undefined {
    if (params.incarnation !== this.incarnation) {
      throw new RpcException(
        ErrorCodes.WrongIncarnation,
        `the repair was planned on incarnation ${params.incarnation}, but this cluster is ${this.incarnation} ` +
          '(it restarted or was reset since); nothing was applied: re-check and plan again',
      );
    }
    const cached = this.repairCache.get(params.requestId);
    return cached ? { ...cached, replayed: true } : undefined;
  }

  /** The first precondition that no longer holds, in words, or undefined when all hold. */
  protected failedPrecondition(preconditions: readonly Precondition[]): string | undefined {
    for (const p of preconditions) {
      if ('epoch' in p) {
        const epoch = this.epochOf(p.epoch);
        if (epoch === undefined) return `this cluster has no ${p.epoch} epoch to check`;
        if (epoch !== p.value) return `the control plane reloaded its view (epoch ${p.value} when planned, now ${epoch})`;
        continue;
      }
      const entity = this.store.get(p.collection, p.key);
      if ('absent' in p) {
        if (entity) return `${p.collection} ${p.key} exists now (version ${entity.version}); the plan relied on its absence`;
      } else if (!entity) {
        return `${p.collection} ${p.key} is gone; the plan relied on it at version ${p.version}`;
      } else if (entity.version !== p.version) {
        return `${p.collection} ${p.key} moved on (version ${p.version} when planned, now ${entity.version})`;
      }
    }
    return undefined;
  }

  /**
   * The result of a repair whose items are decided: remembered for replays, its events sent. One
   * pass over the items; with `itemResults: 'exceptions'` it keeps only those not applied.
   */
  protected finishRepair(params: RepairParams, items: RepairItemResult[]): RepairResult {
    this.publish();
    const exceptionsOnly = params.itemResults === 'exceptions';
    const exceptions: RepairItemResult[] = [];
    let applied = 0;
    let refused = 0;
    let firstRefusal: RepairItemResult | undefined;
    for (const item of items) {
      if (item.status === 'applied') {
        applied++;
        continue;
      }
      if (exceptionsOnly) exceptions.push(item);
      if (item.status === 'refused') {
        refused++;
        firstRefusal ??= item;
      }
    }
    const unchanged = items.length - applied - refused;
    this.telemetry.repaired(params.repair.command, 'applied', applied);
    this.telemetry.repaired(params.repair.command, 'refused', refused);
    this.telemetry.repaired(params.repair.command, 'unchanged', unchanged);
    const parts = [`${applied} applied`, `${refused} refused`];
    if (unchanged) parts.push(`${unchanged} unchanged`);
    const result: RepairResult = {
      requestId: params.requestId,
      command: params.repair.command,
      replayed: false,
      applied,
      refused,
      items: exceptionsOnly ? exceptions : items,
      ...(exceptionsOnly ? { itemResults: 'exceptions' as const } : {}),
      summary: `${params.repair.command}: ${parts.join(', ')}${firstRefusal ? ` (e.g. ${firstRefusal.key}: ${firstRefusal.message})` : ''}`,
      seq: this.store.seq,
    };
    this.repairCache.set(params.requestId, result);
    return result;
  }

  /** Sends the pending change events (in chunks) to the listeners. */
  protected publish(): void {
    const batch = this.store.flush();
    if (!batch) return;
    const send = (n: EventsNotification) => {
      for (const l of [...this.listeners]) l(n);
    };
    if (batch.reset) {
      send({ fromSeq: batch.fromSeq, events: [], time: this.time, reset: true });
      return;
    }
    for (let i = 0; i < batch.events.length; i += EVENTS_PER_NOTIFICATION) {
      send({ fromSeq: batch.fromSeq + i, events: batch.events.slice(i, i + EVENTS_PER_NOTIFICATION), time: this.time });
    }
  }
}

/**
 * About the size of a result's JSON, counted from its strings instead of by serialising it: a
 * `JSON.stringify` of every 5,000-item result took more time than the batch's own deletions.
 * Escapes are not counted; the bound is on what the cache holds in memory, which they do not change.
 */
function repairResultSize(result: RepairResult): number {
  let size = 160 + result.requestId.length + result.command.length + result.summary.length;
  for (const item of result.items) size += 40 + item.key.length + item.message.length;
  return size;
}

/** Every target of a command refused with the same reason (a failed precondition, a read-only cluster). */
export function refuseAll(repair: RepairCommand, message: string): RepairItemResult[] {
  if ('targets' in repair) return repair.targets.map((t) => ({ key: t.key, status: 'refused', message }));
  const key = repair.command === 'greptime.disableAutoCreate' ? repair.table : repair.command;
  return [{ key, status: 'refused', message }];
}
