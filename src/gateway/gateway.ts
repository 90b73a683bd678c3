/**
 * `cluster-gateway`'s cluster: the real systems' metadata, mirrored from
 * their own stores by one source per system, served like the simulator.
 *
 * Entities carry the store's own version (an etcd `mod_revision`, a row
 * version), so a repair's expectations are checked by the store itself, in
 * its own conditional write. Repairs are refused unless the config says
 * `"repairs": true`.
 */
import { randomUUID } from 'node:crypto';
import {
  COLLECTION_NAMES,
  collectionsOf,
  errorText,
  SUBSYSTEMS,
  SYSTEM_IDS,
  SYSTEM_OF_SUBSYSTEM,
  REPAIR_COMMANDS,
  type BeforeImage,
  type Caller,
  type ClusterStatus,
  type CollectionHealth,
  type CollectionName,
  type EntityOf,
  type Precondition,
  type RepairCommand,
  type RepairItemResult,
  type RepairParams,
  type RepairResult,
  type Subsystem,
  type SubsystemHealth,
  type SummaryResult,
  type SystemVersion,
  type UnreadableRecord,
  viewerReason,
} from '../protocol';
import { redactUrls } from '../protocol/redact';
import { GATEWAY_SCENARIO, unixSeconds } from '../protocol/format';
import { Store } from '../cluster/store';
import { refuseAll, StoreBackend } from '../cluster/store-backend';
import { GatewayAudit } from './audit';
import type { GatewayConfig } from './config';
import type { SourceContext, SourceHealth, SubsystemSource } from './source';

/** The first unreadable records of a subsystem that its status lists (all are counted). */
const MAX_UNREADABLE_LISTED = 100;

export const READ_ONLY_REASON =
  'this gateway is read-only: it refuses every repair (set "repairs": true in its config to allow conditional repairs)';

interface SourceEntry {
  source: SubsystemSource;
  /** The first read is over (done or failed): the mirror holds what the store gave. */
  read: boolean;
  health: SourceHealth;
  unreadable: Map<CollectionName, UnreadableRecord[]>;
  /** The source's collections not read successfully in its current state (absent: read, `ok`). */
  collections: Map<CollectionName, CollectionHealth>;
  version?: SystemVersion;
  /** Commands the source refuses now, and why (`SubsystemHealth.refuses`). */
  refuses: Map<string, string>;
  /** Warnings about its connections, by key (`SubsystemHealth.warnings`). */
  warnings: Map<string, string>;
}

export class Gateway extends StoreBackend {
  readonly serverName = 'cluster-gateway';
  protected store = new Store({ record: () => undefined });
  private readonly bootId = randomUUID();
  private readonly sources = new Map<Subsystem, SourceEntry>();
  private readonly log: (message: string) => void;
  /** The gateway's own audit journal (config `journal`), served as `journal.read` and `audit.preview`. */
  readonly journal: GatewayAudit | undefined;

  constructor(
    private readonly config: GatewayConfig,
    sources: readonly SubsystemSource[],
    log: (message: string) => void = () => undefined,
  ) {
    super();
    // No user info of a URL leaves the gateway, whatever a store's error quotes (src/protocol/redact.ts).
    this.log = (message) => log(redactUrls(message));
    this.journal = config.journal === undefined ? undefined : new GatewayAudit(config.journal, config.clusterName);
    for (const source of sources) {
      this.sources.set(source.subsystem, {
        source,
        read: false,
        health: { state: 'unavailable', reason: 'starting' },
        unreadable: new Map(),
        collections: new Map(source.collections.map((c) => [c, { state: 'unread', reason: 'not read yet' }] as const)),
        refuses: new Map(),
        warnings: new Map(),
      });
    }
  }

  /**
   * Starts every source; resolves once each has made its first read (or failed it: its health says
   * why), or after `firstReadMs`: a store that is slow to answer must not keep the gateway from
   * serving the others (its subsystem stays `unavailable: starting` until its read is done).
   */
  async start(firstReadMs = 15_000): Promise<void> {
    const pending = new Set<Subsystem>();
    const all = Promise.all(
      [...this.sources.values()].map(async (e) => {
        pending.add(e.source.subsystem);
        try {
          await e.source.start(this.contextFor(e));
        } catch (err) {
          // A source must not throw out of start; if one does, its subsystem says so instead of taking the gateway down.
          e.health = { state: 'unavailable', reason: redactUrls(`cannot start: ${errorText(err)}`) };
          this.log(`${e.source.subsystem}: ${e.health.reason}`);
        } finally {
          e.read = true;
          pending.delete(e.source.subsystem);
        }
      }),
    );
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), firstReadMs);
      timer.unref?.();
    });
    if ((await Promise.race([all, late])) === 'late')
      this.log(`still reading ${[...pending].join(', ')} after ${firstReadMs} ms; serving meanwhile`);
    clearTimeout(timer);
  }

  async close(): Promise<void> {
    await Promise.all([...this.sources.values()].map((e) => e.source.close().catch(() => undefined)));
  }

  get incarnation(): string {
    const ids = [...this.sources.values()].map((e) => e.source.identity?.()).filter((id) => id !== undefined);
    return [this.bootId, ...ids].join('.').slice(0, 128);
  }

  /**
   * Wall-clock seconds since the Unix epoch, the clock of the real system's own timestamps (a shard
   * id's ULID time, an etcd procedure first seen, an SPU report): ages are `time − since` on one clock.
   */
  protected get time(): number {
    return unixSeconds();
  }

  /** A component's epoch as a source reads it from its store (undefined: no source knows it, and an `epoch` precondition is refused). */
  protected epochOf(component: 'quickwit.controlPlane'): number | undefined {
    for (const e of this.sources.values()) {
      const epoch = e.source.epoch?.(component);
      if (epoch !== undefined) return epoch;
    }
    return undefined;
  }

  /**
   * `cluster.summary`: a source whose first read is over is counted in the mirror (it holds every
   * record, kept current by watches and polls: counting it reads nothing from the store). One still
   * reading is counted by its store's own query (`SubsystemSource.summary`: a `GROUP BY`), or is
   * absent if it has none or the query fails. Never a full read for a summary.
   */
  override async summary(): Promise<SummaryResult> {
    const result = await super.summary();
    for (const e of this.sources.values()) {
      if (e.read) continue;
      let counted: Awaited<ReturnType<NonNullable<SubsystemSource['summary']>>> = {};
      try {
        counted = (await e.source.summary?.()) ?? {};
      } catch (err) {
        this.log(`${e.source.subsystem}: cannot count in the store: ${errorText(err)}`);
      }
      for (const c of e.source.collections) {
        const summary = counted[c];
        if (summary) result.collections[c] = summary;
        else delete result.collections[c];
      }
    }
    return result;
  }

  status(): ClusterStatus {
    const counts: Partial<Record<CollectionName, number>> = {};
    for (const c of COLLECTION_NAMES) counts[c] = this.store.size(c);
    const subsystems: Partial<Record<Subsystem, SubsystemHealth>> = {};
    for (const s of SUBSYSTEMS) {
      const e = this.sources.get(s);
      if (!e) {
        subsystems[s] = { state: 'not-configured', reason: `no ${SYSTEM_OF[s]} section in the gateway config` };
        continue;
      }
      const unreadable = [...e.unreadable.values()].flat();
      subsystems[s] = {
        ...e.health,
        // Unavailable as a whole: every collection is unknown, and the reason says why once.
        ...(e.collections.size && e.health.state === 'ok' ? { collections: Object.fromEntries(e.collections) } : {}),
        ...(e.version ? { version: e.version } : {}),
        ...(e.refuses.size ? { refuses: Object.fromEntries(e.refuses) } : {}),
        ...(e.warnings.size ? { warnings: [...e.warnings.values()].slice(0, 16) } : {}),
        ...(unreadable.length ? { unreadable: unreadable.slice(0, MAX_UNREADABLE_LISTED), unreadableCount: unreadable.length } : {}),
      };
    }
    return {
      clusterName: this.config.clusterName,
      scenario: GATEWAY_SCENARIO,
      seed: 0,
      bugs: { shards: 'buggy', wal: 'buggy', ddl: 'buggy', regions: 'buggy', partitions: 'buggy' },
      time: this.time,
      seq: this.store.seq,
      controlPlaneEpoch: this.epochOf('quickwit.controlPlane') ?? 0,
      incarnation: this.incarnation,
      readOnly: !this.config.repairs,
      subsystems,
      counts: counts as Record<CollectionName, number>,
      config: {
        maxRunningProcedures: this.config.greptime?.maxRunningProcedures ?? 128,
        maxRetryTimes: this.config.greptime?.maxRetryTimes ?? 12,
        etcdQuotaBytes: this.config.greptime?.etcdQuotaBytes ?? 2 * 1024 ** 3,
      },
    };
  }

  async repair(params: RepairParams, caller?: Caller): Promise<RepairResult> {
    const replay = this.admitRepair(params);
    if (replay) return replay;
    const audit = this.journal;
    if (!audit) return this.finishRepair(params, await this.decide(params, caller));
    // A batch under another user's repair id is refused, and journalled as a request of its own.
    const hijack = audit.claim(params, caller);
    const journalled = hijack ? { ...params, audit: undefined } : params;
    // Journalled first: a request whose intent is not on disk is not applied.
    try {
      await audit.before(journalled, caller, this.beforeImages(params.repair));
    } catch (err) {
      this.log(errorText(err));
      return this.finishRepair(params, refuseAll(params.repair, `not applied: the gateway's audit journal could not be written`));
    }
    const items = hijack ? refuseAll(params.repair, hijack) : await this.decide(params, caller);
    const result = this.finishRepair(params, items);
    const who = caller ? ` from ${caller.user}` : '';
    this.log(`repair ${params.repair.command}${who}: ${result.summary}`);
    await audit.after(journalled, items, result.summary).catch((err: unknown) => this.log(errorText(err)));
    return result;
  }

  /** Every target's result: refused whole (a viewer, a read-only gateway, a failed fact) or as the source's store decided. */
  private async decide(params: RepairParams, caller: Caller | undefined): Promise<RepairItemResult[]> {
    const command = params.repair;
    if (caller?.role === 'viewer') return refuseAll(command, viewerReason(caller.user));
    if (!this.config.repairs) return refuseAll(command, READ_ONLY_REASON);
    const entry = [...this.sources.values()].find((e) => e.source.commands.includes(command.command));
    if (!entry) return refuseAll(command, `no configured system runs ${command.command}`);
    // Refused now by its source (its owner runs and would ignore or undo the write): the same words the preview gave.
    const refused = entry.refuses.get(command.command);
    if (refused !== undefined) return refuseAll(command, `refused by the gateway: ${refused}`);
    const preconditions = command.preconditions ?? [];
    // Facts of other stores are checked against the mirror just before the write; the source puts its own store's into the write.
    const others = preconditions.filter((p) => !this.isOwnFact(entry.source, p));
    const failed = this.failedPrecondition(others);
    if (failed) return refuseAll(command, `not applied: ${failed}; re-check and plan again`);
    const own = preconditions.filter((p) => this.isOwnFact(entry.source, p));
    let written;
    try {
      written = await entry.source.repair(command, own);
    } catch (err) {
      this.telemetry.repaired(command.command, 'failed');
      throw err;
    }
    return written.map((i) => ({ ...i, message: redactUrls(i.message) }));
  }

  /** The targets as the mirror holds them just before the write (the audit journal's before-images; undo re-creates from them). */
  private beforeImages(command: RepairCommand): BeforeImage[] {
    const collection = REPAIR_COMMANDS[command.command].collection;
    if (!collection || !('targets' in command)) return [];
    return command.targets.map((t) => ({
      collection,
      key: t.key,
      entity: (this.store.get(collection, t.key) as Record<string, unknown> | undefined) ?? null,
    }));
  }

  private isOwnFact(source: SubsystemSource, p: Precondition): boolean {
    return !('epoch' in p) && source.collections.includes(p.collection);
  }

  private contextFor(entry: SourceEntry): SourceContext {
    const own = (c: CollectionName) => {
      if (!entry.source.collections.includes(c)) throw new Error(`${entry.source.subsystem} source does not own ${c}`);
    };
    const source = entry.source.subsystem;
    const read = () => this.telemetry.readSucceeded(source);
    return {
      replace: <C extends CollectionName>(c: C, entities: Iterable<EntityOf<C>>) => {
        own(c);
        read();
        // A full read: this collection is now known (until a source says its read failed).
        entry.collections.delete(c);
        const seen = new Set<string>();
        for (const e of entities) {
          seen.add(e.key);
          this.store.mirror(c, e);
        }
        for (const e of [...this.store.values(c)]) if (!seen.has(e.key)) this.store.delete(c, e.key);
        this.publish();
      },
      upsert: (c, entity) => {
        own(c);
        read();
        this.store.mirror(c, entity);
        this.publish();
      },
      remove: (c, key) => {
        own(c);
        read();
        this.store.delete(c, key);
        this.publish();
      },
      get: (c, key) => this.store.get(c, key),
      unreadable: (c, records) => {
        own(c);
        entry.unreadable.set(c, records);
      },
      collectionHealth: (c, health) => {
        own(c);
        if (health.state === 'ok') {
          entry.collections.delete(c);
          read();
        } else entry.collections.set(c, health);
      },
      // A read the store answered is a successful read: the age metric says how long the mirror went without one.
      readDuration: (seconds, ok) => {
        this.telemetry.readDuration(source, seconds, ok);
        if (ok) read();
      },
      version: (version) => {
        entry.version = version;
      },
      refusing: (command, reason) => {
        if (reason === undefined) entry.refuses.delete(command);
        else entry.refuses.set(command, reason);
      },
      warning: (key, message) => {
        const text = message === undefined ? undefined : redactUrls(message).slice(0, 2048);
        if (text === entry.warnings.get(key)) return;
        if (text === undefined) entry.warnings.delete(key);
        else {
          entry.warnings.set(key, text);
          this.log(`${entry.source.subsystem}: warning: ${text}`);
        }
      },
      health: (given) => {
        const health = given.reason === undefined ? given : { ...given, reason: redactUrls(given.reason) };
        if (health.state !== entry.health.state || health.reason !== entry.health.reason) {
          this.log(`${entry.source.subsystem}: ${health.state}${health.reason ? ` (${health.reason})` : ''}`);
        }
        entry.health = health;
      },
      log: (message) => this.log(`${entry.source.subsystem}: ${message}`),
    };
  }
}

/**
 * One source per configured system, each made on its own: a source that cannot even be made (a
 * TLS file that does not exist, a system not supported yet) leaves that subsystem `unavailable`
 * with the reason, and the others are served.
 */
export function createSourcesIsolated(config: GatewayConfig, create: (config: GatewayConfig) => SubsystemSource[]): SubsystemSource[] {
  const sources: SubsystemSource[] = [];
  const only: GatewayConfig = { ...config, ...Object.fromEntries(SYSTEM_IDS.map((system) => [system, undefined])) };
  for (const subsystem of SUBSYSTEMS) {
    const system = SYSTEM_OF[subsystem];
    if (config[system] === undefined) continue;
    try {
      sources.push(...create({ ...only, [system]: config[system] }));
    } catch (err) {
      sources.push(unavailableSource(subsystem, `cannot read ${system}: ${errorText(err)}`));
    }
  }
  return sources;
}

/** A subsystem whose source could not be made: unavailable, for the reason given. */
function unavailableSource(subsystem: Subsystem, reason: string): SubsystemSource {
  return {
    subsystem,
    collections: collectionsOf(subsystem),
    commands: [],
    start: async (ctx) => ctx.health({ state: 'unavailable', reason }),
    repair: async (command) => refuseAll(command, reason),
    close: async () => undefined,
  };
}

/** The config section of each subsystem's system (the systems' table, src/protocol/systems.ts). */
const SYSTEM_OF: Record<Subsystem, keyof GatewayConfig> = SYSTEM_OF_SUBSYSTEM;
