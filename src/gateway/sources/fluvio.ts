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
import {
  contentVersion,
  decodePartitionFile,
  decodeSpuFile,
  PARTITION_LABEL,
  SPU_LABEL,
  withResolution,
} from '../../codecs/fluvio';
import { refuseAll } from '../../cluster/store-backend';
import type { GatewayConfig } from '../config';
import type { SourceContext, SubsystemSource } from '../source';

type FluvioConfig = NonNullable<GatewayConfig['fluvio']>;

const MAX_BACKOFF_MS = 60_000;
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

function refused(key: string, message: string): RepairItemResult {
  return { key, status: 'refused', message };
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

interface Storage {
  freeBytes: number;
  full: boolean;
}

export function createFluvioSource(config: FluvioConfig, all: GatewayConfig): SubsystemSource {
  const dir = config.metadataDir;
  const started = Date.now();
  const now = () => Math.floor((Date.now() - started) / 1000);
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
  ): Promise<{ entities: T[]; unreadable: UnreadableRecord[] }> {
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
      const d = decode(text);
      if (d.ok) entities.push(...versioned(collection, [d.entity]));
      else unreadable.push({ collection, key: `${label}/${name}`, reason: d.reason.slice(0, 1000) });
    }
    return { entities, unreadable };
  }

  async function readStorage(spu: FluvioConfig['spuStorage'][number]): Promise<Storage> {
    let freeBytes: number;
    if (spu.statfs) {
      const s = await statfs(spu.statfs);
      freeBytes = Number(s.bavail) * Number(s.bsize);
    } else if (spu.file) {
      const parsed = JSON.parse(await readFile(spu.file, 'utf8')) as { freeBytes?: unknown };
      if (typeof parsed.freeBytes !== 'number' || !Number.isSafeInteger(parsed.freeBytes) || parsed.freeBytes < 0) {
        throw new Error(`${spu.file}: freeBytes is not a non-negative integer`);
      }
      freeBytes = parsed.freeBytes;
    } else {
      throw new Error(`spuStorage for SPU ${spu.spuId} names neither statfs nor file`);
    }
    return { freeBytes, full: freeBytes <= spu.fullBelowBytes };
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
      if (!s) continue;
      const draft = {
        key: keys.spuReport(p.leader.spu, p.topic, p.partition),
        spuId: p.leader.spu,
        topic: p.topic,
        partition: p.partition,
        storageFull: s.full,
        freeBytes: s.freeBytes,
        size: Math.max(0, p.size),
        reportedAt: storageSeen.get(p.leader.spu)?.since ?? 0,
      };
      entities.push({ ...draft, version: versions.of('fluvio.spuReports', draft.key, contentVersion(JSON.stringify(draft))) });
    }
    return { entities, unreadable };
  }

  async function readAll(): Promise<void> {
    const c = ctx!;
    try {
      const parts = await readKind(PARTITION_LABEL, decodePartitionFile, 'fluvio.partitions');
      const spus = await readKind<Spu>(SPU_LABEL, decodeSpuFile, 'fluvio.spus');
      const reps = await reports(parts.entities);
      forgetMissing('fluvio.partitions', parts.entities);
      forgetMissing('fluvio.spus', spus.entities);
      forgetMissing('fluvio.spuReports', reps.entities);
      c.replace('fluvio.partitions', parts.entities);
      c.unreadable('fluvio.partitions', parts.unreadable);
      c.replace('fluvio.spus', spus.entities);
      c.unreadable('fluvio.spus', spus.unreadable);
      c.replace('fluvio.spuReports', reps.entities);
      c.unreadable('fluvio.spuReports', reps.unreadable);
      failures = 0;
      c.health({ state: 'ok' });
    } catch (e) {
      failures++;
      c.health({ state: 'unavailable', reason: `cannot read the SC's metadata folder ${dir}: ${errText(e)}` });
    }
  }

  /** One read at a time; a request during a read runs one more after it. */
  function read(): Promise<void> {
    if (reading) {
      again = true;
      return reading;
    }
    reading = (async () => {
      do {
        again = false;
        await readAll();
      } while (again && !closed);
    })().finally(() => {
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
  async function rewrite(target: { key: string; version: number }, decide: (p: ScPartition, revision: number) => Promise<Decision>): Promise<RepairItemResult> {
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
      return refused(target.key, `Partition/${target.key}.yaml: version ${target.version} is not one this gateway gave it (lately); nothing changed, re-check and plan again`);
    }
    if (contentVersion(text) !== planned) {
      return refused(target.key, `Partition/${target.key}.yaml changed since the plan (version ${target.version}); nothing changed, re-check and plan again`);
    }
    const decoded = decodePartitionFile(text);
    if (!decoded.ok) return refused(target.key, `Partition/${target.key}.yaml does not decode (${decoded.reason}); nothing changed`);
    const p = decoded.entity;
    const decision = await decide(p, decoded.record.meta.revision + 1);
    if ('status' in decision) return decision;
    const next = withResolution(decoded.record, decision.resolution);
    const tmp = join(dir, PARTITION_LABEL, `.${target.key}.yaml.gateway-${process.pid}-${++tmpCounter}.tmp`);
    await writeFile(tmp, next);
    try {
      // Compare-and-swap: the file must still be the one planned from, right before it is replaced.
      const now = await readFile(path, 'utf8').catch(() => undefined);
      if (now === undefined || contentVersion(now) !== planned) {
        await unlink(tmp).catch(() => undefined);
        return refused(p.key, `Partition/${target.key}.yaml changed while the repair ran; it was left as the other writer made it`);
      }
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
      if (!report) return refused(p.key, `no storage reading for its leader ${keys.spu(p.leader.spu)}; nothing to restore from`);
      for (const pre of own) {
        if ('epoch' in pre || pre.collection !== 'fluvio.spuReports' || pre.key !== report.key) continue;
        if ('version' in pre && pre.version !== report.version) {
          return refused(p.key, `${keys.spu(p.leader.spu)}'s storage changed since the plan (${report.freeBytes} bytes free now); nothing changed`);
        }
      }
      if (!report.storageFull) return { key: p.key, status: 'unchanged', message: `${keys.spu(p.leader.spu)} has ${report.freeBytes} bytes free; resolution stays ${p.resolution}` };
      if (p.resolution === 'OutOfStorage') return { key: p.key, status: 'unchanged', message: 'already OutOfStorage' };
      return {
        resolution: 'OutOfStorage',
        message:
          `${p.resolution} → OutOfStorage in Partition/${target.key}.yaml (meta.revision ${revision}), ` +
          `from ${keys.spu(p.leader.spu)}'s storage (${report.freeBytes} bytes free). The SC owns this file: a running SC reads it only at start ` +
          'and overwrites it with its in-memory status on its next change to this partition.',
      };
    });
  }

  /** Undo of `restore`: the resolution the file had before, only if it is still as the repair left it. */
  function restoreResolution(target: { key: string; version: number; resolution: PartitionResolution }): Promise<RepairItemResult> {
    return rewrite(target, async (p, revision) =>
      p.resolution === target.resolution
        ? { key: p.key, status: 'unchanged', message: `already ${target.resolution}` }
        : { resolution: target.resolution, message: `${p.resolution} → ${target.resolution} in Partition/${target.key}.yaml (meta.revision ${revision}), as before the repair` },
    );
  }

  return {
    subsystem: 'partitions',
    collections: ['fluvio.partitions', 'fluvio.spuReports', 'fluvio.spus'],
    commands: ['fluvio.restoreFromSpuReport', 'fluvio.restoreResolution'],
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
      const seen = new Set<string>();
      const results: RepairItemResult[] = [];
      for (const t of command.targets) {
        if (seen.has(t.key)) continue;
        seen.add(t.key);
        results.push('resolution' in t ? await restoreResolution(t) : await restore(t, own));
      }
      return results;
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
