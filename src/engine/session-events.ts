/**
 * The session's synced model and the change events applied to it (`cluster.events`): in sequence
 * order, and guarded by entity version, so an event older than what the model holds changes
 * nothing and a page read before an event can never leave an older version behind. A batch after
 * a gap, or a reset, is not applied: the session resyncs.
 */
import { COLLECTIONS, type ChangeEvent, type CollectionName, type EventsNotification, type Subsystem } from '../protocol';
import type { ClusterModel, CollectionMaps, EntityMap } from '../analysis/model';

/** What the session reads of every entity: its key, and the version the cluster gave it. */
export type Entity = { key: string; version: number };

export interface AppliedEventHooks {
  /** An event changed one entity (`before` undefined: it was created; `after` undefined: deleted). */
  entityChanged(event: ChangeEvent, time: number, before: Entity | undefined, after: Entity | undefined): void;
  /** An event's entity failed validation: it was skipped. */
  invalid(collection: CollectionName): void;
}

export class SyncedModel {
  /** The synced model; the last one stays (marked stale) while the link is down. */
  current: ClusterModel | null = null;
  /** The last cluster event applied. */
  seq = 0;

  constructor(private readonly hooks: AppliedEventHooks) {}

  /** A full sync's model, as of event `seq`. */
  replace(model: ClusterModel, seq: number): void {
    this.seq = seq;
    this.current = model;
  }

  /** Applies a batch after `seq`. Returns false on a gap (the caller resyncs). */
  applyBatch(n: EventsNotification, dirty?: Set<Subsystem>): boolean {
    const model = this.current;
    if (!model) return false;
    if (n.reset) return false;
    if (n.fromSeq > this.seq + 1) return false;
    for (const event of n.events) {
      if (event.seq <= this.seq) continue;
      if (this.applyEvent(model.collections, event, n.time)) dirty?.add(COLLECTIONS[event.collection].subsystem);
      this.seq = event.seq;
    }
    model.status = { ...model.status, seq: this.seq, time: n.time };
    return true;
  }

  /** Version-guarded: an event older than what the model holds changes nothing. */
  private applyEvent(collections: CollectionMaps, event: ChangeEvent, time: number): boolean {
    const map = collections[event.collection] as EntityMap<Entity>;
    const current = map.get(event.key);
    if (event.op === 'delete') {
      if (!current || current.version > event.version) return false;
      map.delete(event.key);
      this.hooks.entityChanged(event, time, current, undefined);
      return true;
    }
    const parsed = COLLECTIONS[event.collection].schema.safeParse(event.item);
    if (!parsed.success) {
      this.hooks.invalid(event.collection);
      return false;
    }
    const item = parsed.data as Entity;
    if (current && current.version >= item.version) return false;
    map.set(item.key, item);
    this.hooks.entityChanged(event, time, current, item);
    return true;
  }
}
