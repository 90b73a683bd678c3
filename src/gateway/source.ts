/**
 * One real system's metadata, as the gateway reads and repairs it: a source
 * mirrors its store's records into the gateway's entity store (decoded by its
 * codec, each entity at the store's own version) and turns repair commands
 * into conditional writes on that store.
 *
 * A source never throws out of `start`: a store it cannot reach, or that
 * refuses its credentials, makes it `unavailable` with the reason, and it
 * retries with backoff; the other sources keep working.
 */
import type {
  CollectionHealth,
  CollectionSummary,
  CollectionName,
  EntityOf,
  Precondition,
  RepairCommand,
  RepairItemResult,
  Subsystem,
  SubsystemHealth,
  SystemVersion,
  UnreadableRecord,
} from '../protocol';

export type SourceHealth = Pick<SubsystemHealth, 'state' | 'reason'>;

/** What a source may do to the gateway. */
export interface SourceContext {
  /**
   * Replaces the mirror of one of the source's collections with what the store holds now (a full
   * read); the collection is then known (`ok`). Never call it with what a failed read left: an
   * error or a not-ready answer is `collectionHealth(c, { state: 'unavailable', … })`, not empty.
   */
  replace<C extends CollectionName>(collection: C, entities: Iterable<EntityOf<C>>): void;
  /** One record changed (a watch event, a poll that found a difference). */
  upsert<C extends CollectionName>(collection: C, entity: EntityOf<C>): void;
  remove(collection: CollectionName, key: string): void;
  /** The current mirror of a collection (to check preconditions, to diff a poll). */
  get<C extends CollectionName>(collection: C, key: string): EntityOf<C> | undefined;
  /** The records that did not decode, as of the last full read of `collection` (replaces the previous list). */
  unreadable(collection: CollectionName, records: UnreadableRecord[]): void;
  /**
   * One collection's last read failed (`unavailable`, with the store's or API's answer), or it
   * succeeded (`ok`). Every collection starts `unread`; no finding compares one that is not `ok`.
   */
  collectionHealth(collection: CollectionName, health: CollectionHealth): void;
  /**
   * The source refuses `command` now, with why and the operator's remedy (the owner process runs
   * and keeps that state in memory), or accepts it again (undefined). Listed in the subsystem's
   * status so that previews, quick fixes and Repair All Safe say so before anything is sent; the
   * gateway refuses it before the source's `repair` is called.
   */
  refusing(command: RepairCommand['command'], reason: string | undefined): void;
  /** The upstream version the store or API says it runs (undefined: it does not say, or not yet). */
  version(version: SystemVersion | undefined): void;
  /**
   * A warning about the connection under `key` (an unchecked certificate, plaintext), or none any
   * more (undefined): logged once and listed in the subsystem's status while it holds.
   */
  warning?(key: string, message: string | undefined): void;
  /** One read of the store (a page, a query) took `seconds`; `ok`: it answered. The read latency metric (`/metrics`). */
  readDuration?(seconds: number, ok: boolean): void;
  /** Reachable again, or not; shown in the subsystem's view. */
  health(health: SourceHealth): void;
  log(message: string): void;
}

export interface SubsystemSource {
  readonly subsystem: Subsystem;
  /** The collections this source fills. */
  readonly collections: readonly CollectionName[];
  /** The repair commands it runs (their prefix names the system: `greptime.`, `quickwit.`, …). */
  readonly commands: readonly RepairCommand['command'][];
  /**
   * An id of the store's own identity (an etcd cluster id, PostgreSQL's
   * system identifier), part of the gateway's incarnation once known.
   */
  identity?(): string | undefined;
  /**
   * A component's epoch as the store shows it (Quickwit: the control plane's
   * generation), for `{ epoch }` preconditions and `cluster.status`;
   * undefined when this source has none or does not know it yet.
   */
  epoch?(component: 'quickwit.controlPlane'): number | undefined;
  /**
   * Counts of the source's collections made by its store itself, never a full read (a SQL
   * `GROUP BY`): the gateway's `cluster.summary` uses them while the source's first read is
   * still running. Collections it cannot count that way are absent. Absent: no such query.
   */
  summary?(): Promise<Partial<Record<CollectionName, CollectionSummary>>>;
  /** First read, then watch or poll; resolves once the first read is done or has failed (health says which). */
  start(ctx: SourceContext): Promise<void>;
  /**
   * One repair command as one conditional write on the store (an etcd
   * transaction comparing `mod_revision`s, one SQL statement checking row
   * versions): a record that changed since the plan is refused, never
   * overwritten. `preconditions` that name this source's records go into the
   * same write; the gateway has checked the others against its mirror.
   */
  repair(command: RepairCommand, preconditions: readonly Precondition[]): Promise<RepairItemResult[]>;
  close(): Promise<void>;
}
