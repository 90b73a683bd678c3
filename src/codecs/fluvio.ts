/**
 * Fluvio: the SC's local metadata files ⇄ entities.
 *
 * Layout (infinyon/fluvio, `crates/fluvio-stream-dispatcher/src/metadata/local.rs`,
 * checked at bcce9f22, Nov 2025; the local store exists since v0.11): one
 * folder per object kind under the SC's metadata folder, named by the spec's
 * LABEL (`Partition`, `Topic`, `SPU`), one file `<key>.yaml` per object,
 * written with serde_yaml as the externally tagged enum
 * `VersionedSpecStorage::V1`, i.e. a document tagged `!1.0.0`:
 *
 *     !1.0.0
 *     meta: { id, revision, parent?: { id, revision }, children? }
 *     key: <topic>-<n>
 *     status: { resolution, leader: { spu, hw, leo }, lsr, replicas: [{ spu, hw, leo }], size, isBeingDeleted, baseOffset }
 *     spec: { leader, replicas, … }
 *
 * `meta.revision` is bumped by the SC on every write of the object
 * (`SpecStore::apply`: `prev_rev + 1`).
 *
 * Partition status (`crates/fluvio-controlplane-metadata/src/partition/status.rs`,
 * serde camelCase): `resolution` is `PartitionResolution` (Offline, Online,
 * LeaderOffline, ElectionLeaderFound, OutOfStorage — tag 4, #4521, v0.17.3);
 * `lsr` (alias `lrs`); `replicas` are the followers' `ReplicaStatus`es;
 * `size` (-1 error, -2 not supported); `baseOffset` (default 0).
 *
 * SPU (`crates/fluvio-controlplane-metadata/src/spu/{spec,status}.rs`):
 * `spec.spuId`, `status.resolution` Online | Offline | Init.
 *
 * Versions: an entity's `version` is a hash of the file's bytes (48 bits, a
 * safe integer), so it changes whenever the file changes, whoever wrote it
 * (the SC bumps `meta.revision`, a hand edit may not). A repair compares the
 * file's hash again right before it renames its new file into place.
 */
import { createHash } from 'node:crypto';
import { parseDocument, Document, isScalar, visit } from 'yaml';
import { keys, PartitionResolution, type ScPartition, type Spu } from '../protocol';

export const VERSION_TAG = '!1.0.0';
export const PARTITION_LABEL = 'Partition';
export const TOPIC_LABEL = 'Topic';
export const SPU_LABEL = 'SPU';

/** A stable non-negative safe integer from a file's bytes: its version. */
export function contentVersion(text: string | Buffer): number {
  const digest = createHash('sha256').update(text).digest();
  return digest.readUIntBE(0, 6);
}

export interface LocalMeta {
  id: string;
  revision: number;
  parent?: { id: string; revision: number };
  children?: Record<string, unknown[]>;
}

/** One decoded `!1.0.0` file: the whole record (kept so a repair can rewrite only what it changes). */
export interface StoredObject {
  meta: LocalMeta;
  key: string;
  status: Record<string, unknown>;
  spec: Record<string, unknown>;
}

export type Decoded<T> = { ok: true; entity: T; record: StoredObject } | { ok: false; reason: string };

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v);
}

/** Parses a `!1.0.0` file (any kind): the stored object, or why not. */
export function parseStored(text: string): StoredObject | string {
  let doc;
  try {
    doc = parseDocument(text, { prettyErrors: false, uniqueKeys: false });
  } catch (e) {
    return `not YAML: ${(e as Error).message}`;
  }
  if (doc.errors.length) return `not YAML: ${doc.errors[0]!.message.split('\n')[0]}`;
  const tag = (doc.contents as { tag?: string } | null)?.tag;
  if (tag !== VERSION_TAG) return tag ? `unknown storage version ${tag} (expected ${VERSION_TAG})` : `no ${VERSION_TAG} version tag`;
  let js: unknown;
  try {
    js = doc.toJS({ maxAliasCount: 10 });
  } catch (e) {
    return `not YAML: ${(e as Error).message}`;
  }
  if (!isObject(js)) return 'not a mapping';
  const { meta, key, status, spec } = js;
  if (!isObject(meta) || typeof meta.id !== 'string' || !isInt(meta.revision) || meta.revision < 0)
    return 'meta.id / meta.revision missing';
  if (typeof key !== 'string' || key === '') return 'key missing';
  if (!isObject(spec)) return 'spec missing';
  // Objects without a status serialise an empty one (`status: ''` for a unit-like status).
  return { meta: meta as unknown as LocalMeta, key, status: isObject(status) ? status : {}, spec };
}

function replicaStatus(v: unknown): { spu: number; hw: number; leo: number } | undefined {
  if (!isObject(v) || !isInt(v.spu) || !isInt(v.hw) || !isInt(v.leo)) return undefined;
  return { spu: v.spu, hw: v.hw, leo: v.leo };
}

/** `<topic>-<n>`: the partition is after the last `-`. */
export function splitPartitionKey(key: string): { topic: string; partition: number } | undefined {
  const m = /^(.+)-(\d+)$/.exec(key);
  if (!m) return undefined;
  const partition = Number(m[2]);
  return Number.isSafeInteger(partition) ? { topic: m[1]!, partition } : undefined;
}

/** A `Partition/<topic>-<n>.yaml` file's text → the SC's partition status. */
export function decodePartitionFile(text: string): Decoded<ScPartition> {
  const record = parseStored(text);
  if (typeof record === 'string') return { ok: false, reason: record };
  const tp = splitPartitionKey(record.key);
  if (!tp) return { ok: false, reason: `key ${JSON.stringify(record.key)} is not <topic>-<partition>` };
  const { status, spec } = record;
  const resolution = PartitionResolution.safeParse(status.resolution);
  if (!resolution.success)
    return { ok: false, reason: `status.resolution ${JSON.stringify(status.resolution)} is not a PartitionResolution` };
  const leader = replicaStatus(status.leader);
  if (!leader) return { ok: false, reason: 'status.leader is not {spu, hw, leo}' };
  const lsr = status.lsr ?? status.lrs;
  if (!isInt(lsr) || lsr < 0) return { ok: false, reason: 'status.lsr missing' };
  const size = status.size ?? -2;
  if (!isInt(size)) return { ok: false, reason: 'status.size is not an integer' };
  if (typeof status.isBeingDeleted !== 'boolean') return { ok: false, reason: 'status.isBeingDeleted missing' };
  const specReplicas = spec.replicas ?? [];
  if (!Array.isArray(specReplicas) || !specReplicas.every(isInt)) return { ok: false, reason: 'spec.replicas is not a list of SPU ids' };
  return {
    ok: true,
    record,
    entity: {
      key: keys.partition(tp.topic, tp.partition),
      version: contentVersion(text),
      topic: tp.topic,
      partition: tp.partition,
      resolution: resolution.data,
      leader,
      lsr,
      // The entity's replicas are the assigned SPUs (spec.replicas, leader first), as the SC lists them.
      replicas: specReplicas as number[],
      size,
      isBeingDeleted: status.isBeingDeleted,
    },
  };
}

/** An `SPU/<name>.yaml` file's text → the SPU as the SC sees it. */
export function decodeSpuFile(text: string): Decoded<Spu> {
  const record = parseStored(text);
  if (typeof record === 'string') return { ok: false, reason: record };
  const id = record.spec.spuId;
  if (!isInt(id)) return { ok: false, reason: 'spec.spuId missing' };
  const resolution = record.status.resolution;
  if (resolution !== 'Online' && resolution !== 'Offline' && resolution !== 'Init') {
    return { ok: false, reason: `status.resolution ${JSON.stringify(resolution)} is not Online, Offline or Init` };
  }
  return {
    ok: true,
    record,
    entity: {
      key: keys.spu(id),
      version: contentVersion(text),
      spuId: id,
      // The SC's live connection is not stored; the SC sets Online when the SPU connects and Offline when it drops.
      connected: resolution === 'Online',
      status: resolution === 'Online' ? 'Online' : 'Offline',
    },
  };
}

/** Serialises a stored object as the SC does (a `!1.0.0` document, block style). */
export function stringifyStored(obj: StoredObject): string {
  const doc = new Document({ meta: obj.meta, key: obj.key, status: obj.status, spec: obj.spec });
  (doc.contents as { tag?: string }).tag = VERSION_TAG;
  return doc.toString({ lineWidth: 0, indentSeq: false });
}

function replicaOf(spu: number, p: Pick<ScPartition, 'leader'>): { spu: number; hw: number; leo: number } {
  return { spu, hw: p.leader.hw, leo: p.leader.leo };
}

/**
 * The SC's Partition file for an entity. `prev` (the file as it is) keeps the
 * fields the entity does not hold (spec options, base offset, followers'
 * offsets, children) and bumps `meta.revision` as the SC does.
 */
export function encodePartitionFile(p: ScPartition, prev?: StoredObject): string {
  const prevStatus = prev?.status ?? {};
  const followers = p.replicas.filter((s) => s !== p.leader.spu);
  const status: Record<string, unknown> = {
    resolution: p.resolution,
    leader: { ...p.leader },
    lsr: p.lsr,
    replicas: Array.isArray(prevStatus.replicas) ? prevStatus.replicas : followers.map((s) => replicaOf(s, p)),
    size: p.size,
    isBeingDeleted: p.isBeingDeleted,
    baseOffset: isInt(prevStatus.baseOffset) ? prevStatus.baseOffset : 0,
  };
  const spec = { ...(prev?.spec ?? {}), leader: p.leader.spu, replicas: [...p.replicas] };
  const meta: LocalMeta = prev
    ? { ...prev.meta, revision: prev.meta.revision + 1 }
    : { id: p.key, revision: 0, parent: { id: p.topic, revision: 0 } };
  return stringifyStored({ meta, key: p.key, status, spec });
}

/** Every tag in a document, in document order (`!1.0.0`, `!segment`, `!computed`, …). */
export function documentTags(text: string): string[] {
  const tags: string[] = [];
  visit(parseDocument(text, { uniqueKeys: false }), (_key, node) => {
    const tag = (node as { tag?: string } | null)?.tag;
    if (tag) tags.push(tag);
  });
  return tags;
}

/**
 * Rewrites only `status.resolution` and `meta.revision` (+ 1, as the SC's `SpecStore::apply` does)
 * of a Partition file, in place: the two plain scalars' source ranges are replaced and every other
 * byte of `text` stays as it is. Going through plain objects would drop the enum tags serde_yaml
 * writes (`cleanupPolicy: !segment` on every `consumer-offset` partition, fluvio-sc
 * `controllers/topics/controller.rs`); serde_yaml 0.9 rejects an untagged enum, and the SC's
 * loader (`SpecStore::load`, fluvio-stream-dispatcher `metadata/local.rs`) fails the whole
 * `Partition` folder on the first file that does not load, so the SC would not start.
 *
 * Returns the new text, or why the file cannot be edited that way (nothing to write then).
 */
export function withResolution(text: string, resolution: PartitionResolution): string | { error: string } {
  const doc = parseDocument(text, { prettyErrors: false, uniqueKeys: false });
  if (doc.errors.length) return { error: `not YAML: ${doc.errors[0]!.message.split('\n')[0]}` };
  const edits: { path: string; range: [number, number]; source: string }[] = [];
  for (const [path, next] of [
    [['status', 'resolution'], (src: string) => (/^[A-Za-z]+$/.test(src) ? resolution : undefined)],
    [['meta', 'revision'], (src: string) => (/^\d+$/.test(src) ? (BigInt(src) + 1n).toString() : undefined)],
  ] as const) {
    const node = doc.getIn(path, true);
    const name = path.join('.');
    // serde_yaml writes both as plain scalars with no tag or anchor; anything else is not the SC's file.
    if (!isScalar(node) || node.type !== 'PLAIN' || node.tag || node.anchor || !node.range)
      return { error: `${name} is not a plain scalar` };
    const [start, end] = node.range;
    const source = next(text.slice(start, end));
    if (source === undefined) return { error: `${name} ${JSON.stringify(text.slice(start, end))} is not what the SC writes` };
    edits.push({ path: name, range: [start, end], source });
  }
  let out = text;
  for (const e of [...edits].sort((a, b) => b.range[0] - a.range[0])) out = out.slice(0, e.range[0]) + e.source + out.slice(e.range[1]);
  // The same change made through the Document API must give the same data and keep every tag.
  const expected = parseDocument(text, { uniqueKeys: false });
  expected.setIn(['status', 'resolution'], resolution);
  expected.setIn(['meta', 'revision'], Number(edits[1]!.source));
  const got = parseDocument(out, { uniqueKeys: false });
  if (
    got.errors.length ||
    JSON.stringify(got.toJS()) !== JSON.stringify(expected.toJS()) ||
    documentTags(out).join(' ') !== documentTags(text).join(' ')
  ) {
    return { error: 'the in-place edit did not give the expected document; nothing written' };
  }
  return out;
}

/** The SPU file's name for a local cluster's SPU (`fluvio cluster start --local` names them `custom-spu-<id>`). */
export function spuFileKey(spuId: number): string {
  return `custom-spu-${spuId}`;
}

export function encodeSpuFile(spu: Spu, prev?: StoredObject): string {
  const name = prev?.key ?? spuFileKey(spu.spuId);
  const spec = prev?.spec ?? {
    spuId: spu.spuId,
    spuType: 'Custom',
    publicEndpoint: { port: 9010 + (spu.spuId % 1000) * 10, ingress: [{ hostname: 'localhost' }], encryption: 'PLAINTEXT' },
    privateEndpoint: { port: 9011 + (spu.spuId % 1000) * 10, host: 'localhost', encryption: 'PLAINTEXT' },
  };
  const meta: LocalMeta = prev ? { ...prev.meta, revision: prev.meta.revision + 1 } : { id: name, revision: 0 };
  return stringifyStored({ meta, key: name, status: { resolution: spu.status }, spec });
}

/** A Topic file (the partitions' parent): computed replicas, provisioned, with its replica map. */
export function encodeTopicFile(topic: string, partitions: readonly ScPartition[], revision = 0): string {
  // A BTreeMap<PartitionId, Vec<SpuId>>: integer keys.
  const replicaMap = new Map<number, number[]>();
  for (const p of [...partitions].sort((a, b) => a.partition - b.partition)) replicaMap.set(p.partition, [...p.replicas]);
  const factor = partitions[0]?.replicas.length ?? 1;
  const doc = new Document({
    meta: { id: topic, revision },
    key: topic,
    status: { resolution: 'Provisioned', replicaMap, mirrorMap: {}, reason: '' },
    spec: { replicas: { partitions: partitions.length, replicationFactor: factor, ignoreRackAssignment: false } },
  });
  (doc.contents as { tag?: string }).tag = VERSION_TAG;
  const replicas = (doc.contents as unknown as { get(k: string): { get(k: string): { tag?: string } } }).get('spec').get('replicas');
  replicas.tag = '!computed';
  return doc.toString({ lineWidth: 0, indentSeq: false });
}
