/**
 * Fluvio's partitions, read from the SC's local metadata folder (see
 * src/codecs/fluvio.ts for the upstream layout) and the SPUs' disks.
 *
 * - `fluvio.partitions` ← `Partition/*.yaml`; `fluvio.spus` ← `SPU/*.yaml`.
 * - `fluvio.spuReports`: Fluvio stores no SPU report (the SC applies an
 *   SPU's `OutOfStorage` straight to the partition's resolution), so the
 *   gateway reads each SPU's free space itself (`spuStorage`: `statfs` of its
 *   log folder, or a disk monitor's JSON file) and reports, for every
 *   partition the SPU leads, what the SPU would: storage full or not.
 *
 * Read on `fs.watch` events and every `pollMs` (the fallback where watching
 * is not supported, or misses events). A folder that cannot be read makes
 * the subsystem unavailable with the reason; reads are retried with backoff.
 *
 * Versions increase with each change, as the protocol requires: per key the
 * source remembers the content hash (`contentVersion`) it last saw and gives
 * the key a new version from one counter whenever the hash changes. They do
 * not survive a restart (the gateway's incarnation changes then). The repair
 * rewrites one Partition file's `status.resolution` to `OutOfStorage`:
 * written to a temporary file, the target file's hash compared with the hash
 * the planned version stood for right before the rename, refused if it changed.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readdir, readFile, rename, statfs, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  keys,
  type PartitionResolution,
  type Precondition,
  type RepairCommand,
  type RepairItemResult,
  type ScPartition,
  type Spu,
  type SpuReport,
  type UnreadableRecord,
} from '../../protocol';
import { contentVersion, decodePartitionFile, decodeSpuFile, PARTITION_LABEL, SPU_LABEL, withResolution } from '../../codecs/fluvio';
import { refuseAll } from '../../cluster/store-backend';
import { unixSeconds } from '../../protocol/format';
import { localClusterVersion, scProcesses } from './fluvio-local';
import type { GatewayConfig } from '../config';
import type { SourceContext, SubsystemSource } from '../source';
import { SYSTEMS } from '../../protocol/systems';

type FluvioConfig = NonNullable<GatewayConfig['fluvio']>;

const MAX_BACKOFF_MS = 60_000;
/** How long to wait before reading again a file that did not decode (caught half written). */
const TORN_READ_RETRY_MS = 50;
/** How many past versions per key keep their hash (for a repair or undo planned from one of them). */
const VERSIONS_KEPT = 8;

type FluvioCollection = 'fluvio.partitions' | 'fluvio.spus' | 'fluvio.spuReports';

/**
 * Versions that increase with each change of a key's content: the content hash last seen per key,
 * and the hash each recent version stood for. One counter for all keys, so a version is never reused.
 */
class ContentVersions {
  private last = 0;
  private readonly byKey = new Map<string, { hash: number; version: number; past: Map<number, number> }>();

  /** The version of `key` with content `hash`: the one it has if the content is unchanged, else a new, higher one. */
  of(collection: FluvioCollection, key: string, hash: number): number {
    const id = `${collection}\0${key}`;
    const seen = this.byKey.get(id);
    if (seen?.hash === hash) return seen.version;
    const version = ++this.last;
    const past = seen?.past ?? new Map<number, number>();
    past.set(version, hash);
    for (const old of past.keys()) {
      if (past.size <= VERSIONS_KEPT) break;
      past.delete(old);
    }
    this.byKey.set(id, { hash, version, past });
    return version;
  }

  /** The content hash `version` of `key` stood for; undefined if this source never gave it (or forgot it). */
  hashOf(collection: FluvioCollection, key: string, version: number): number | undefined {
    return this.byKey.get(`${collection}\0${key}`)?.past.get(version);
  }

  /** Forgets the keys of `collection` a full read no longer found (one that comes back gets a new version). */
  keepOnly(collection: FluvioCollection, present: ReadonlySet<string>): void {
    const prefix = `${collection}\0`;
    for (const id of this.byKey.keys()) {
      if (id.startsWith(prefix) && !present.has(id.slice(prefix.length))) this.byKey.delete(id);
    }
  }
}

const COMMANDS = ['fluvio.restoreFromSpuReport', 'fluvio.restoreResolution'] as const;

/** What to do instead of writing the file, once an SC runs on it (or it cannot be told). */
const REMEDY =
  'Remedy: free space on the SPU (retention, a larger disk): its next failed write reports OutOfStorage again by itself ' +
  '(fluvio-spu services/public/produce_handler.rs). To write the file anyway: `fluvio cluster shutdown`, repair, `fluvio cluster resume` ' +
  "(the SC loads the file at start; the SPU's first status update after that sets Online again, by design: private_server.rs receive_lrs_update).";

/** Why repairs are refused now, with the remedy; undefined while no SC runs on `dir`. */
export async function scRefusal(dir: string): Promise<string | undefined> {
  const procs = await scProcesses(dir);
  if (procs === undefined) {
    return `cannot tell whether a Fluvio SC runs on ${dir} (no /proc to read here): a running SC ignores the file and rewrites it from memory. ${REMEDY}`;
  }
  if (procs.length === 0) return undefined;
  const p = procs[0]!;
  return (
    `a Fluvio SC runs on ${dir} (pid ${p.pid}: ${p.command.slice(0, 200)}): it loaded Partition/*.yaml at start, keeps them in memory ` +
    "and rewrites a partition's file from memory on its next change to it (fluvio-stream-dispatcher metadata/local.rs), so a write now " +
    `would be ignored, then overwritten. ${REMEDY}`
  );
}

function refused(key: string, message: string): RepairItemResult {
  return { key, status: 'refused', message };
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

interface Storage {
  freeBytes: number;
  full: boolean;
  /** Partition keys (`<topic>-<n>`) a monitor recorded the SPU failing writes of with "Storage is full". */
  outOfStorage: ReadonlySet<string>;
}

/** What this gateway saw the SC apply of an SPU's `OutOfStorage` report, kept until an SPU update clears it. */
interface ObservedFull {
  spu: number;
  hw: number;
  leo: number;
  /** When it was first seen, on the gateway's clock (Unix seconds). */
  since: number;
}

export function createFluvioSource(config: FluvioConfig, all: GatewayConfig): SubsystemSource {
  const dir = config.metadataDir;
  // The gateway's clock (wall-clock Unix seconds, as `ClusterStatus.time`).
  const now = () => unixSeconds();
  let ctx: SourceContext | undefined;
  let timer: NodeJS.Timeout | undefined;
  let watchers: FSWatcher[] = [];
  let closed = false;
  let failures = 0;
  let reading: Promise<void> | undefined;
  let again = false;
  /** SPU id → free bytes last read and when it last changed (the report's time). */
  const storageSeen = new Map<number, { freeBytes: number; since: number }>();
  let tmpCounter = 0;
  const versions = new ContentVersions();
  /** Per partition key, the SPU's OutOfStorage as last seen applied by the SC (see `observe`). */
  const observedFull = new Map<string, ObservedFull>();
  const lastResolution = new Map<string, PartitionResolution>();
  /** Per partition key, the SPU status update seen clearing its OutOfStorage (its leader, Unix seconds on the gateway's clock). */
  const spuUpdates = new Map<string, { spu: number; at: number }>();
  /** Per partition key, the content hashes of the files this gateway's last repairs and undos wrote (the last 8). */
  const ownWrites = new Map<string, number[]>();
  /** The refusal last told to the gateway (null: none told yet). */
  let refusal: string | undefined | null = null;

  /** `entities` with the versions this source gives their content (the codec's version is the content hash). */
  function versioned<T extends { key: string; version: number }>(collection: FluvioCollection, entities: readonly T[]): T[] {
    return entities.map((e) => ({ ...e, version: versions.of(collection, e.key, e.version) }));
  }

  function forgetMissing(collection: FluvioCollection, entities: readonly { key: string }[]): void {
    versions.keepOnly(collection, new Set(entities.map((e) => e.key)));
  }

  async function readKind<T extends { key: string; version: number }>(
    label: string,
    decode: (text: string) => { ok: true; entity: T } | { ok: false; reason: string },
    collection: 'fluvio.partitions' | 'fluvio.spus',
  ): Promise<{ entities: T[]; unreadable: UnreadableRecord[]; files: Set<string> }> {
    const folder = join(dir, label);
    const names = (await readdir(folder)).filter((n) => n.endsWith('.yaml')).sort();
    const entities: T[] = [];
    const unreadable: UnreadableRecord[] = [];
    for (const name of names) {
      let text: string;
      try {
        text = await readFile(join(folder, name), 'utf8');
      } catch (e) {
        // Deleted between readdir and read: gone, not unreadable.
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        unreadable.push({ collection, key: `${label}/${name}`, reason: errText(e).slice(0, 1000) });
        continue;
      }
      let d = decode(text);
      if (!d.ok) {
        // The SC rewrites a file in place (`File::create` truncates it, then serde_yaml writes it): a read
        // can catch it half written. Read it once more before calling it unreadable.
        await new Promise((r) => setTimeout(r, TORN_READ_RETRY_MS));
        const again = await readFile(join(folder, name), 'utf8').catch(() => undefined);
        if (again !== undefined) d = decode(again);
      }
      if (d.ok) entities.push(...versioned(collection, [d.entity]));
      else unreadable.push({ collection, key: `${label}/${name}`, reason: d.reason.slice(0, 1000) });
    }
    return { entities, unreadable, files: new Set(names.map((n) => n.slice(0, -'.yaml'.length))) };
  }

  async function readStorage(spu: FluvioConfig['spuStorage'][number]): Promise<Storage> {
    let freeBytes: number;
    let outOfStorage = new Set<string>();
    if (spu.statfs) {
      const s = await statfs(spu.statfs);
      freeBytes = Number(s.bavail) * Number(s.bsize);
    } else if (spu.file) {
      const parsed = JSON.parse(await readFile(spu.file, 'utf8')) as { freeBytes?: unknown; outOfStorage?: unknown };
      if (typeof parsed.freeBytes !== 'number' || !Number.isSafeInteger(parsed.freeBytes) || parsed.freeBytes < 0) {
        throw new Error(`${spu.file}: freeBytes is not a non-negative integer`);
      }
      freeBytes = parsed.freeBytes;
      if (parsed.outOfStorage !== undefined) {
        if (!Array.isArray(parsed.outOfStorage) || !parsed.outOfStorage.every((k) => typeof k === 'string')) {
          throw new Error(`${spu.file}: outOfStorage is not a list of partition keys`);
        }
        outOfStorage = new Set(parsed.outOfStorage as string[]);
      }
    } else {
      throw new Error(`spuStorage for SPU ${spu.spuId} names neither statfs nor file`);
    }
    return { freeBytes, full: freeBytes <= spu.fullBelowBytes, outOfStorage };
  }

  async function reports(partitions: readonly ScPartition[]): Promise<{ entities: SpuReport[]; unreadable: UnreadableRecord[] }> {
    const entities: SpuReport[] = [];
    const unreadable: UnreadableRecord[] = [];
    const storage = new Map<number, Storage>();
    for (const spu of config.spuStorage) {
      try {
        const s = await readStorage(spu);
        storage.set(spu.spuId, s);
        const seen = storageSeen.get(spu.spuId);
        if (!seen || seen.freeBytes !== s.freeBytes) storageSeen.set(spu.spuId, { freeBytes: s.freeBytes, since: now() });
      } catch (e) {
        unreadable.push({ collection: 'fluvio.spuReports', key: keys.spu(spu.spuId), reason: errText(e).slice(0, 1000) });
      }
    }
    for (const p of partitions) {
      const s = storage.get(p.leader.spu);
      const observed = observedFull.get(p.key);
      const seen = observed?.spu === p.leader.spu ? observed : undefined;
      const update = spuUpdates.get(p.key);
      const cleared = update?.spu === p.leader.spu ? update : undefined;
      // A monitor's record stands until the SPU's next status update is seen.
      const listed = (s?.outOfStorage.has(p.key) ?? false) && !cleared;
      if (!s && !seen && !cleared) continue;
      const draft = {
        key: keys.spuReport(p.leader.spu, p.topic, p.partition),
        spuId: p.leader.spu,
        topic: p.topic,
        partition: p.partition,
        // The SPU reported OutOfStorage (seen applied by the SC, or recorded by a monitor), and its disk, where
        // measured, is still full. A nearly full disk alone is not a report: upstream's SPU reports OutOfStorage
        // only when a write fails with StorageFull (fluvio-spu services/public/produce_handler.rs).
        storageFull: (seen !== undefined || listed) && (s ? s.full : true),
        freeBytes: s ? s.freeBytes : null,
        size: Math.max(0, p.size),
        reportedAt: seen?.since ?? cleared?.at ?? storageSeen.get(p.leader.spu)?.since ?? 0,
      };
      entities.push({ ...draft, version: versions.of('fluvio.spuReports', draft.key, contentVersion(JSON.stringify(draft))) });
    }
    return { entities, unreadable };
  }

  /**
   * Follows each partition's resolution from one read to the next, for the SPU's `OutOfStorage` report
   * that Fluvio keeps nowhere else: the SC applies it straight to `status.resolution`
   * (fluvio-sc `services/private_api/private_server.rs`, `receive_partition_status_update`). It stands
   * until an SPU update clears it: the leader's offsets moved (a write succeeded), the leader changed,
   * or the file went from OutOfStorage straight to Online (`receive_lrs_update` sets Online on every
   * LRS update of the SPU, by design). It survives LeaderOffline / ElectionLeaderFound / Offline and an
   * Online reached through them: that is the SC's election, which before #4529 (130d01a3) turned an
   * OutOfStorage partition LeaderOffline when its leader dropped and Online when it came back
   * (fluvio-sc `controllers/partitions/reducer.rs`).
   */
  function observe(partitions: readonly ScPartition[], files: ReadonlySet<string>): void {
    for (const p of partitions) {
      const prev = lastResolution.get(p.key);
      lastResolution.set(p.key, p.resolution);
      // The file as this gateway's repair or undo left it: nothing the SPU or the SC said. (The SC bumps
      // meta.revision on every write, so it never writes the same bytes again.)
      const hash = versions.hashOf('fluvio.partitions', p.key, p.version);
      if (hash !== undefined && ownWrites.get(p.key)?.includes(hash)) continue;
      const seen = observedFull.get(p.key);
      if (p.resolution === 'OutOfStorage') {
        observedFull.set(p.key, { spu: p.leader.spu, hw: p.leader.hw, leo: p.leader.leo, since: seen?.since ?? now() });
        spuUpdates.delete(p.key);
        continue;
      }
      if (!seen) continue;
      const moved = seen.spu !== p.leader.spu || seen.hw !== p.leader.hw || seen.leo !== p.leader.leo;
      if (moved || (p.resolution === 'Online' && prev === 'OutOfStorage')) {
        // The SPU's own status update: its report now says the partition is writable again.
        observedFull.delete(p.key);
        spuUpdates.set(p.key, { spu: p.leader.spu, at: now() });
      }
    }
    // Forgotten only once its file is gone: a file that did not decode this time keeps what was seen.
    for (const key of [...lastResolution.keys()]) {
      if (files.has(key)) continue;
      lastResolution.delete(key);
      observedFull.delete(key);
      spuUpdates.delete(key);
      ownWrites.delete(key);
    }
  }

  async function readAll(): Promise<void> {
    const c = ctx!;
    try {
      const parts = await readKind(PARTITION_LABEL, decodePartitionFile, 'fluvio.partitions');
      const spus = await readKind<Spu>(SPU_LABEL, decodeSpuFile, 'fluvio.spus');
      observe(parts.entities, parts.files);
      const reps = await reports(parts.entities);
      forgetMissing('fluvio.partitions', parts.entities);
      forgetMissing('fluvio.spus', spus.entities);
      forgetMissing('fluvio.spuReports', reps.entities);
      // Reports first: an SPU update that cleared OutOfStorage is recorded before the Online it brought.
      c.replace('fluvio.spuReports', reps.entities);
      c.unreadable('fluvio.spuReports', reps.unreadable);
      c.replace('fluvio.partitions', parts.entities);
      c.unreadable('fluvio.partitions', parts.unreadable);
      c.replace('fluvio.spus', spus.entities);
      c.unreadable('fluvio.spus', spus.unreadable);
      failures = 0;
      c.health({ state: 'ok' });
      const v = await localClusterVersion(dir, config.localConfig);
      c.version(v ? { system: SYSTEMS.fluvio.title, version: v.version, from: v.from } : undefined);
      const why = await scRefusal(dir);
      if (why !== refusal) {
        refusal = why;
        for (const cmd of COMMANDS) c.refusing(cmd, why);
      }
    } catch (e) {
      failures++;
      c.health({ state: 'unavailable', reason: `cannot read the SC's metadata folder ${dir}: ${errText(e)}` });
    }
  }

  /**
   * Reads and repairs take turns: a read that listed a file before a repair replaced it would
   * otherwise mirror the old content after the repair's own update, and the finding the repair
   * cleared would come back until the next read (seen under load: `cluster-check --repair` then
   * saw it still there).
   */
  let turn: Promise<unknown> = Promise.resolve();
  function inTurn<T>(fn: () => Promise<T>): Promise<T> {
    const run = turn.then(fn, fn);
    turn = run.catch(() => undefined);
    return run;
  }

  /** One read at a time; a request during a read runs one more after it. */
  function read(): Promise<void> {
    if (reading) {
      again = true;
      return reading;
    }
    reading = inTurn(async () => {
      do {
        again = false;
        await readAll();
      } while (again && !closed);
    }).finally(() => {
      reading = undefined;
    });
    return reading;
  }

  function schedule(): void {
    if (closed) return;
    const delay = failures === 0 ? all.pollMs : Math.min(MAX_BACKOFF_MS, all.pollMs * 2 ** Math.min(failures, 10));
    timer = setTimeout(() => {
      void read().then(() => {
        ensureWatchers();
        schedule();
      });
    }, delay);
    timer.unref?.();
  }

  let debounce: NodeJS.Timeout | undefined;
  function ensureWatchers(): void {
    if (closed || watchers.length) return;
    for (const label of [PARTITION_LABEL, SPU_LABEL]) {
      try {
        const w = watch(join(dir, label), () => {
          if (debounce) return;
          debounce = setTimeout(() => {
            debounce = undefined;
            if (!closed) void read();
          }, 20);
        });
        w.on('error', () => {
          // The folder went away: polling carries on, and watching starts again once it is back.
          w.close();
          watchers = watchers.filter((x) => x !== w);
        });
        watchers.push(w);
      } catch {
        // Not there yet, or watching unsupported: polling covers it.
      }
    }
  }

  /** The change a repair decides on a decoded Partition file: a new resolution and what to say, or an answer without a write. */
  type Decision = { resolution: PartitionResolution; message: string } | RepairItemResult;

  /**
   * Rewrites one Partition file's resolution as `decide` says, compare-and-swap: the file must
   * still be at the target's version when it is read, and again right before the rename.
   */
  async function rewrite(
    target: { key: string; version: number },
    decide: (p: ScPartition, revision: number) => Promise<Decision>,
  ): Promise<RepairItemResult> {
    const c = ctx!;
    const path = join(dir, PARTITION_LABEL, `${target.key}.yaml`);
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      return refused(target.key, `cannot read ${PARTITION_LABEL}/${target.key}.yaml (${errText(e)}); nothing changed`);
    }
    const planned = versions.hashOf('fluvio.partitions', target.key, target.version);
    if (planned === undefined) {
      return refused(
        target.key,
        `Partition/${target.key}.yaml: version ${target.version} is not one this gateway gave it (lately); nothing changed, re-check and plan again`,
      );
    }
    if (contentVersion(text) !== planned) {
      return refused(
        target.key,
        `Partition/${target.key}.yaml changed since the plan (version ${target.version}); nothing changed, re-check and plan again`,
      );
    }
    const decoded = decodePartitionFile(text);
    if (!decoded.ok) return refused(target.key, `Partition/${target.key}.yaml does not decode (${decoded.reason}); nothing changed`);
    const p = decoded.entity;
    const decision = await decide(p, decoded.record.meta.revision + 1);
    if ('status' in decision) return decision;
    // Only status.resolution and meta.revision change; every other byte (enum tags included) stays.
    const next = withResolution(text, decision.resolution);
    if (typeof next !== 'string')
      return refused(target.key, `Partition/${target.key}.yaml cannot be edited in place (${next.error}); nothing changed`);
    const tmp = join(dir, PARTITION_LABEL, `.${target.key}.yaml.gateway-${process.pid}-${++tmpCounter}.tmp`);
    await writeFile(tmp, next);
    try {
      // Compare-and-swap: the file must still be the one planned from, right before it is replaced.
      const now = await readFile(path, 'utf8').catch(() => undefined);
      if (now === undefined || contentVersion(now) !== planned) {
        await unlink(tmp).catch(() => undefined);
        return refused(p.key, `Partition/${target.key}.yaml changed while the repair ran; it was left as the other writer made it`);
      }
      // Known as this gateway's own write before any read can see it (a read may run during the rename).
      ownWrites.set(target.key, [...(ownWrites.get(target.key) ?? []), contentVersion(next)].slice(-VERSIONS_KEPT));
      await rename(tmp, path);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      return refused(p.key, `could not write Partition/${target.key}.yaml: ${errText(e)}`);
    }
    // The version the next read will also give this content.
    const version = versions.of('fluvio.partitions', target.key, contentVersion(next));
    const entity = decodePartitionFile(next);
    if (entity.ok) c.upsert('fluvio.partitions', { ...entity.entity, version });
    return { key: p.key, status: 'applied', message: decision.message, version };
  }

  async function restore(target: { key: string; version: number }, own: readonly Precondition[]): Promise<RepairItemResult> {
    return rewrite(target, async (p, revision) => {
      // The leader SPU's storage, read again now: the repair rests on it still being full.
      const rep = await reports([p]);
      const report = rep.entities[0];
      if (!report)
        return refused(
          p.key,
          `no report of its leader ${keys.spu(p.leader.spu)} (no OutOfStorage seen, no storage reading); nothing to restore from`,
        );
      for (const pre of own) {
        if ('epoch' in pre || pre.collection !== 'fluvio.spuReports' || pre.key !== report.key) continue;
        if ('version' in pre && pre.version !== report.version) {
          return refused(
            p.key,
            `${keys.spu(p.leader.spu)}'s report changed since the plan (${report.storageFull ? 'storage full' : 'storage not full'}${report.freeBytes === null ? '' : `, ${report.freeBytes} bytes free`} now); nothing changed`,
          );
        }
      }
      if (!report.storageFull) {
        const why = report.freeBytes === null ? 'no longer reports its storage full' : `has ${report.freeBytes} bytes free`;
        return { key: p.key, status: 'unchanged', message: `${keys.spu(p.leader.spu)} ${why}; resolution stays ${p.resolution}` };
      }
      if (p.resolution === 'OutOfStorage') return { key: p.key, status: 'unchanged', message: 'already OutOfStorage' };
      return {
        resolution: 'OutOfStorage',
        message:
          `${p.resolution} → OutOfStorage in Partition/${target.key}.yaml (meta.revision ${revision}), ` +
          `from ${keys.spu(p.leader.spu)}'s report${report.freeBytes === null ? '' : ` (${report.freeBytes} bytes free)`}. No SC runs on this folder: ` +
          "the SC owns the file and loads it when it starts; the SPU's first status update after that sets Online again (by design) " +
          'unless space was freed, and its next failed write reports OutOfStorage again.',
      };
    });
  }

  /** Undo of `restore`: the resolution the file had before, only if it is still as the repair left it. */
  function restoreResolution(target: { key: string; version: number; resolution: PartitionResolution }): Promise<RepairItemResult> {
    return rewrite(target, async (p, revision) =>
      p.resolution === target.resolution
        ? { key: p.key, status: 'unchanged', message: `already ${target.resolution}` }
        : {
            resolution: target.resolution,
            message: `${p.resolution} → ${target.resolution} in Partition/${target.key}.yaml (meta.revision ${revision}), as before the repair`,
          },
    );
  }

  return {
    subsystem: 'partitions',
    collections: ['fluvio.partitions', 'fluvio.spuReports', 'fluvio.spus'],
    commands: [...COMMANDS],
    async start(c) {
      ctx = c;
      await read();
      ensureWatchers();
      schedule();
    },
    async repair(command: RepairCommand, own) {
      if (command.command !== 'fluvio.restoreFromSpuReport' && command.command !== 'fluvio.restoreResolution') {
        return refuseAll(command, `the fluvio source does not run ${command.command}`);
      }
      // Looked at again now: an SC that started since the last read would ignore the write, then overwrite it.
      const why = await scRefusal(dir);
      if (why) {
        if (why !== refusal) {
          refusal = why;
          for (const cmd of COMMANDS) ctx?.refusing(cmd, why);
        }
        return refuseAll(command, why);
      }
      return inTurn(async () => {
        const seen = new Set<string>();
        const results: RepairItemResult[] = [];
        for (const t of command.targets) {
          if (seen.has(t.key)) continue;
          seen.add(t.key);
          results.push('resolution' in t ? await restoreResolution(t) : await restore(t, own));
        }
        return results;
      });
    },
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      if (debounce) clearTimeout(debounce);
      for (const w of watchers) w.close();
      watchers = [];
      await reading;
    },
  };
}
