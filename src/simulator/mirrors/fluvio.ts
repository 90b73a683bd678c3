/**
 * The simulator mirrored into a Fluvio SC's local metadata folder
 * (`cluster-sim --fluvio-metadata DIR`): `Partition/<topic>-<n>.yaml`,
 * `Topic/<topic>.yaml` and `SPU/custom-spu-<id>.yaml`, `!1.0.0` documents as
 * the SC's `LocalMetadataStorage` writes them (src/codecs/fluvio.ts), each
 * rewritten (meta.revision + 1) when its entity changes.
 *
 * The SPUs' disks: Fluvio keeps no record of an SPU's storage report (the SC
 * applies it straight to the partition's resolution), and the simulator has
 * no disks to `statfs`. So the mirror also writes each simulated SPU's free
 * space as `DIR/.cluster-sim/spu-<id>.json` (`{"freeBytes": N, "outOfStorage":
 * ["<topic>-<n>", …]}`), the form of the gateway's `file` storage probe. The SC ignores it: it loads only its
 * kinds' folders.
 *
 * Files are written to a temporary name and renamed into place, so a reader
 * never sees half a file (the SC itself truncates and rewrites in place).
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EventsNotification, ScPartition, Spu, SpuReport } from '../../protocol';
import {
  encodePartitionFile,
  encodeSpuFile,
  encodeTopicFile,
  parseStored,
  PARTITION_LABEL,
  SPU_LABEL,
  spuFileKey,
  TOPIC_LABEL,
  type StoredObject,
} from '../../codecs/fluvio';
import type { Simulator } from '../simulator';
import type { StoreMirror } from './mirror';

export const SPU_STORAGE_DIR = '.cluster-sim';

let tmpCounter = 0;

/** Writes `path` whole: a temporary file in the same folder, renamed over it. */
export async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}-${++tmpCounter}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}

async function readStored(path: string): Promise<StoredObject | undefined> {
  try {
    const parsed = parseStored(await readFile(path, 'utf8'));
    return typeof parsed === 'string' ? undefined : parsed;
  } catch {
    return undefined;
  }
}

export function createFluvioMirror(dir: string): StoreMirror {
  const folder = (label: string) => join(dir, label);
  const partitionPath = (key: string) => join(folder(PARTITION_LABEL), `${key}.yaml`);
  const spuPath = (spuId: number) => join(folder(SPU_LABEL), `${spuFileKey(spuId)}.yaml`);
  const storagePath = (spuId: number) => join(dir, SPU_STORAGE_DIR, `spu-${spuId}.json`);

  /**
   * Per SPU, its free bytes as its latest report says, and the replicas it reported storage full
   * for (a real SPU says so only when a write fails, in its log: "Storage is full").
   */
  function storageOf(sim: Simulator): Map<number, { freeBytes: number; outOfStorage: string[] }> {
    const latest = new Map<number, SpuReport>();
    const full = new Map<number, string[]>();
    for (const r of sim.entities('fluvio.spuReports')) {
      const free = r.freeBytes ?? 0;
      const prev = latest.get(r.spuId);
      if (!prev || r.reportedAt > prev.reportedAt || (r.reportedAt === prev.reportedAt && free < (prev.freeBytes ?? 0)))
        latest.set(r.spuId, r);
      if (r.storageFull) full.set(r.spuId, [...(full.get(r.spuId) ?? []), `${r.topic}-${r.partition}`]);
    }
    return new Map([...latest].map(([id, r]) => [id, { freeBytes: r.freeBytes ?? 0, outOfStorage: (full.get(id) ?? []).sort() }]));
  }

  async function writeStorage(sim: Simulator): Promise<void> {
    for (const [spuId, storage] of storageOf(sim)) await writeAtomic(storagePath(spuId), JSON.stringify(storage) + '\n');
  }

  async function writePartition(p: ScPartition): Promise<void> {
    await writeAtomic(partitionPath(p.key), encodePartitionFile(p, await readStored(partitionPath(p.key))));
  }

  async function writeSpu(s: Spu): Promise<void> {
    await writeAtomic(spuPath(s.spuId), encodeSpuFile(s, await readStored(spuPath(s.spuId))));
  }

  async function writeTopics(sim: Simulator): Promise<void> {
    const byTopic = new Map<string, ScPartition[]>();
    for (const p of sim.entities('fluvio.partitions')) {
      const list = byTopic.get(p.topic) ?? [];
      list.push(p);
      byTopic.set(p.topic, list);
    }
    for (const [topic, ps] of byTopic) await writeAtomic(join(folder(TOPIC_LABEL), `${topic}.yaml`), encodeTopicFile(topic, ps));
  }

  async function sync(sim: Simulator): Promise<void> {
    for (const label of [PARTITION_LABEL, TOPIC_LABEL, SPU_LABEL]) {
      await rm(folder(label), { recursive: true, force: true });
      await mkdir(folder(label), { recursive: true });
    }
    await rm(join(dir, SPU_STORAGE_DIR), { recursive: true, force: true });
    await mkdir(join(dir, SPU_STORAGE_DIR), { recursive: true });
    await writeTopics(sim);
    for (const s of sim.entities('fluvio.spus')) await writeSpu(s);
    for (const p of sim.entities('fluvio.partitions')) await writePartition(p);
    await writeStorage(sim);
  }

  return {
    target: `fluvio metadata ${dir}`,
    sync,
    async apply(sim, n: EventsNotification) {
      if (n.reset) return sync(sim);
      let reports = false;
      let topics = false;
      // The last event per key wins: one write per file per batch.
      const partitions = new Map<string, ScPartition | null>();
      const spus = new Map<string, Spu | null>();
      for (const e of n.events) {
        if (e.collection === 'fluvio.partitions') {
          partitions.set(e.key, e.op === 'upsert' ? (e.item as ScPartition) : null);
          if (e.op === 'delete') topics = true;
        } else if (e.collection === 'fluvio.spus') spus.set(e.key, e.op === 'upsert' ? (e.item as Spu) : null);
        else if (e.collection === 'fluvio.spuReports') reports = true;
      }
      for (const [key, p] of partitions) {
        if (p) await writePartition(p);
        else await rm(partitionPath(key), { force: true });
      }
      for (const [key, s] of spus) {
        if (s) await writeSpu(s);
        else await rm(join(folder(SPU_LABEL), `${spuFileKey(Number(key.slice(4)))}.yaml`), { force: true });
      }
      if (topics) await writeTopics(sim);
      if (reports) await writeStorage(sim);
    },
    async close() {
      // The files stay: they are the mirror's output.
    },
  };
}

/** For tests: the names of the Partition files in a mirrored folder. */
export async function partitionFiles(dir: string): Promise<string[]> {
  return (await readdir(join(dir, PARTITION_LABEL))).filter((f) => f.endsWith('.yaml')).sort();
}
