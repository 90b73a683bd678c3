/**
 * Comparing two cluster states (two snapshots, a snapshot and a live cluster,
 * two live clusters): per collection, the entities added, removed and changed,
 * and the findings that appeared, were resolved, or changed their count.
 *
 * Semantics (the README's "Comparing snapshots" states them too):
 * - An entity is its collection and key. `added`: in B only; `removed`: in A only.
 * - `changed`: in both, and some field other than `key` and `version` differs. Its
 *   changes are listed field by field (sorted by name), old → new; the versions are
 *   given beside them. A repair or a heartbeat bumps a version without changing what
 *   the entity says, so an entity whose *only* difference is its version is not a
 *   change: it is counted apart, as `versionOnly`, and does not make the states differ.
 * - `null` and a missing field are the same (a snapshot leaves a null field out).
 * - The cluster header: a change of `clusterName`, `scenario`, `seed`, a bug mode, a
 *   config limit or the control plane's epoch is a difference; time, seq, counts and the
 *   incarnation are not (they differ between any two reads).
 * - Findings are matched by id (`rule:group`): `appeared` in B only, `resolved` in A only,
 *   `changed` in both with another count.
 *
 * Built for incident scale (763k shards): one pass over each side's Map per collection,
 * fields compared with `===` (and structurally only for the rare list/object fields),
 * nothing allocated for an unchanged entity. Every count is exact; the entities
 * themselves are kept only up to `limit` per kind and collection.
 */
import { COLLECTION_NAMES, type AnyEntity, type ClusterStatus, type CollectionName, type Finding } from '../protocol';
import { formatClusterTime, formatCount, plural } from '../protocol/format';
import type { ClusterModel } from './model';
import { renderEntity } from './snapshot/render';
import { LAYOUTS } from './snapshot/layout';

export interface FieldChange {
  field: string;
  from: unknown;
  to: unknown;
}

export interface EntityChange {
  key: string;
  /** Sorted by field name; never `key` or `version`. */
  fields: FieldChange[];
  fromVersion: number;
  toVersion: number;
}

export interface CollectionDiff {
  collection: CollectionName;
  added: number;
  removed: number;
  changed: number;
  /** In both, with a different version and nothing else different. */
  versionOnly: number;
  unchanged: number;
  /** The first `limit` of each kind, in the order of the side they come from. */
  samples: {
    added: AnyEntity[];
    removed: AnyEntity[];
    changed: EntityChange[];
    versionOnly: string[];
  };
}

export interface FindingCountChange {
  id: string;
  rule: Finding['rule'];
  from: number;
  to: number;
  /** The finding as B has it. */
  finding: Finding;
}

export interface FindingsDiff {
  /** B's findings that A does not have, by id. */
  appeared: Finding[];
  /** A's findings that B does not have. */
  resolved: Finding[];
  /** In both, with another count. */
  changed: FindingCountChange[];
}

export interface ClusterDiff {
  /** Every collection, in protocol order (those without differences too). */
  collections: CollectionDiff[];
  /** Header changes that count (see above), e.g. `controlPlaneEpoch`, `bugs.shards`. */
  status: FieldChange[];
  findings: FindingsDiff;
  totals: { added: number; removed: number; changed: number; versionOnly: number };
  /** Nothing that counts differs: no entity added, removed or changed, no header change, no findings change. */
  identical: boolean;
  /** The cap on samples per kind and collection (Infinity: all of them). */
  limit: number;
}

export interface DiffSide {
  model: ClusterModel;
  findings: Finding[];
}

export const DEFAULT_DIFF_LIMIT = 20;

/** Whether two field values are the same: `===`, `null` ≡ missing, lists and objects structurally. */
export function sameValue(x: unknown, y: unknown): boolean {
  if (x === y) return true;
  if (x == null || y == null) return x == null && y == null;
  if (typeof x !== 'object' || typeof y !== 'object') return false;
  if (Array.isArray(x) || Array.isArray(y)) {
    if (!Array.isArray(x) || !Array.isArray(y) || x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!sameValue(x[i], y[i])) return false;
    return true;
  }
  const a = x as Record<string, unknown>;
  const b = y as Record<string, unknown>;
  for (const k in a) if (!sameValue(a[k], b[k])) return false;
  for (const k in b) if (!(k in a) && b[k] != null) return false;
  return true;
}

/** Each collection's fields other than key and version, sorted by name: compared in this order, so changes come out sorted. */
const SORTED_FIELDS = Object.fromEntries(
  COLLECTION_NAMES.map((c) => [c, LAYOUTS[c].fields.map((f) => f.name).sort()]),
) as unknown as Record<CollectionName, readonly string[]>;

/**
 * The fields (other than key and version) in which `a` and `b` differ, sorted; null when none do.
 * `fields`: the schema's fields, sorted (the fast path, for entities the protocol validated); without
 * it, every field either entity has. Allocates nothing for equal entities.
 */
export function changedFields(a: AnyEntity, b: AnyEntity, fields?: readonly string[]): FieldChange[] | null {
  const ra = a as unknown as Record<string, unknown>;
  const rb = b as unknown as Record<string, unknown>;
  let out: FieldChange[] | null = null;
  const names = fields ?? [...new Set([...Object.keys(ra), ...Object.keys(rb)])].filter((f) => f !== 'key' && f !== 'version').sort();
  for (let i = 0; i < names.length; i++) {
    const f = names[i];
    const x = ra[f];
    const y = rb[f];
    if (x === y || sameValue(x, y)) continue;
    (out ??= []).push({ field: f, from: x ?? null, to: y ?? null });
  }
  return out;
}

export function diffCollection(
  collection: CollectionName,
  a: ReadonlyMap<string, AnyEntity>,
  b: ReadonlyMap<string, AnyEntity>,
  limit = DEFAULT_DIFF_LIMIT,
): CollectionDiff {
  const d: CollectionDiff = {
    collection,
    added: 0,
    removed: 0,
    changed: 0,
    versionOnly: 0,
    unchanged: 0,
    samples: { added: [], removed: [], changed: [], versionOnly: [] },
  };
  const fields = SORTED_FIELDS[collection];
  // Two reads of one cluster hold their keys in the same order: walk B alongside A and take B's
  // next entity when it has A's key, without a hash lookup (a Map.get on 763k entries is most of
  // the cost); look up only where the two orders part.
  const cursor = b.entries();
  let next = cursor.next();
  for (const [key, ea] of a) {
    let eb: AnyEntity | undefined;
    if (!next.done && next.value[0] === key) {
      eb = next.value[1];
      next = cursor.next();
    } else {
      eb = b.get(key);
    }
    if (eb === undefined) {
      if (d.removed++ < limit) d.samples.removed.push(ea);
      continue;
    }
    if (ea === eb) {
      d.unchanged++;
      continue;
    }
    const changes = changedFields(ea, eb, fields);
    if (changes) {
      if (d.changed++ < limit) d.samples.changed.push({ key, fields: changes, fromVersion: ea.version, toVersion: eb.version });
    } else if (ea.version !== eb.version) {
      if (d.versionOnly++ < limit) d.samples.versionOnly.push(key);
    } else {
      d.unchanged++;
    }
  }
  // Keys of B not in A. When B has no more keys than A's matched ones, there are none: skip the pass.
  if (b.size > a.size - d.removed) {
    for (const [key, eb] of b) {
      if (a.has(key)) continue;
      if (d.added++ < limit) d.samples.added.push(eb);
    }
  }
  return d;
}

const STATUS_FIELDS = ['clusterName', 'scenario', 'seed', 'controlPlaneEpoch'] as const;

/** The header changes that count as differences (not time, seq, counts or incarnation). */
export function diffStatus(a: ClusterStatus, b: ClusterStatus): FieldChange[] {
  const out: FieldChange[] = [];
  for (const f of STATUS_FIELDS) if (a[f] !== b[f]) out.push({ field: f, from: a[f], to: b[f] });
  const nested = (name: 'bugs' | 'config', x: Record<string, unknown>, y: Record<string, unknown>) => {
    for (const k of [...new Set([...Object.keys(x), ...Object.keys(y)])].sort()) {
      if (!sameValue(x[k], y[k])) out.push({ field: `${name}.${k}`, from: x[k] ?? null, to: y[k] ?? null });
    }
  };
  nested('bugs', a.bugs, b.bugs);
  nested('config', a.config, b.config);
  return out;
}

const byId = (p: { id: string }, q: { id: string }) => (p.id < q.id ? -1 : p.id > q.id ? 1 : 0);

export function diffFindings(a: readonly Finding[], b: readonly Finding[]): FindingsDiff {
  const inA = new Map(a.map((f) => [f.id, f]));
  const inB = new Map(b.map((f) => [f.id, f]));
  const appeared = b.filter((f) => !inA.has(f.id)).sort(byId);
  const resolved = a.filter((f) => !inB.has(f.id)).sort(byId);
  const changed: FindingCountChange[] = [];
  for (const f of b) {
    const before = inA.get(f.id);
    if (before && before.count !== f.count) changed.push({ id: f.id, rule: f.rule, from: before.count, to: f.count, finding: f });
  }
  return { appeared, resolved, changed: changed.sort(byId) };
}

/** The whole comparison of A and B. `limit` caps the entities kept per kind and collection (counts are always exact). */
export function diffClusters(a: DiffSide, b: DiffSide, opts: { limit?: number } = {}): ClusterDiff {
  const limit = opts.limit ?? DEFAULT_DIFF_LIMIT;
  const collections = COLLECTION_NAMES.map((c) =>
    diffCollection(
      c,
      a.model.collections[c] as ReadonlyMap<string, AnyEntity>,
      b.model.collections[c] as ReadonlyMap<string, AnyEntity>,
      limit,
    ),
  );
  const totals = { added: 0, removed: 0, changed: 0, versionOnly: 0 };
  for (const d of collections) {
    totals.added += d.added;
    totals.removed += d.removed;
    totals.changed += d.changed;
    totals.versionOnly += d.versionOnly;
  }
  const status = diffStatus(a.model.status, b.model.status);
  const findings = diffFindings(a.findings, b.findings);
  const identical =
    totals.added + totals.removed + totals.changed === 0 &&
    status.length === 0 &&
    findings.appeared.length + findings.resolved.length + findings.changed.length === 0;
  return { collections, status, findings, totals, identical, limit };
}

// ------------------------------------------------------------------ text --

/** A value as the snapshot language would write it (JSON for strings with blanks, lists, objects). */
function show(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return /^[^\s"#=\\[{]+$/.test(v) && v !== 'null' ? v : JSON.stringify(v);
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** Whether a collection has anything to show. */
export function hasDifferences(d: CollectionDiff): boolean {
  return d.added + d.removed + d.changed + d.versionOnly > 0;
}

/** One line: what changed overall. */
export function diffSummary(diff: ClusterDiff): string {
  const t = diff.totals;
  const colls = diff.collections.filter((d) => d.added + d.removed + d.changed > 0).length;
  const f = diff.findings;
  const entities =
    t.added + t.removed + t.changed === 0
      ? 'no entity added, removed or changed'
      : `${formatCount(t.added)} added, ${formatCount(t.removed)} removed, ${formatCount(t.changed)} changed in ${plural(colls, 'collection')}`;
  const versions = t.versionOnly ? ` (${plural(t.versionOnly, 'entity', 'entities')} with only a new version)` : '';
  const header = diff.status.length ? `; ${plural(diff.status.length, 'cluster setting')} changed` : '';
  return `${entities}${versions}${header}; findings: ${formatCount(f.appeared.length)} appeared, ${formatCount(f.resolved.length)} resolved, ${formatCount(f.changed.length)} changed count`;
}

export interface DiffTextOptions {
  /** What A and B are (file paths, URLs). */
  labels: [string, string];
  /** Appended to "… and N more" lines, e.g. "(--all shows every one)". */
  moreHint?: string;
}

function describeSide(label: string, s: ClusterStatus): string {
  return `${label} (cluster ${s.clusterName}, ${s.scenario}, ${formatClusterTime(s.time, s)}, seq ${s.seq})`;
}

/** The comparison as text: per collection, samples as snapshot lines (`-` removed, `+` added, `~` changed); then the findings. */
export function renderDiffText(diff: ClusterDiff, a: ClusterStatus, b: ClusterStatus, opts: DiffTextOptions): string {
  const out: string[] = [`A: ${describeSide(opts.labels[0], a)}`, `B: ${describeSide(opts.labels[1], b)}`, ''];
  const more = (n: number, what: string) => `    … and ${formatCount(n)} more ${what}${opts.moreHint ? ` ${opts.moreHint}` : ''}`;
  if (diff.status.length) {
    out.push('cluster:');
    for (const c of diff.status) out.push(`  ~ ${c.field}: ${show(c.from)} → ${show(c.to)}`);
  }
  for (const d of diff.collections) {
    if (!hasDifferences(d)) continue;
    const parts = [
      d.added && `${formatCount(d.added)} added`,
      d.removed && `${formatCount(d.removed)} removed`,
      d.changed && `${formatCount(d.changed)} changed`,
      d.versionOnly && `${formatCount(d.versionOnly)} with only a new version`,
    ].filter(Boolean);
    out.push(`${d.collection}: ${parts.join(', ')}`);
    const layout = LAYOUTS[d.collection];
    for (const e of d.samples.removed) out.push(`  - ${renderEntity(layout, e)}`);
    if (d.removed > d.samples.removed.length) out.push(more(d.removed - d.samples.removed.length, 'removed'));
    for (const e of d.samples.added) out.push(`  + ${renderEntity(layout, e)}`);
    if (d.added > d.samples.added.length) out.push(more(d.added - d.samples.added.length, 'added'));
    for (const c of d.samples.changed) {
      out.push(`  ~ ${layout.kind} ${show(c.key)} (version ${c.fromVersion} → ${c.toVersion})`);
      for (const f of c.fields) out.push(`      ${f.field}: ${show(f.from)} → ${show(f.to)}`);
    }
    if (d.changed > d.samples.changed.length) out.push(more(d.changed - d.samples.changed.length, 'changed'));
  }
  const f = diff.findings;
  if (f.appeared.length + f.resolved.length + f.changed.length) {
    out.push('', 'findings:');
    for (const x of f.appeared) out.push(`  appeared  ${x.id} (${formatCount(x.count)}, ${x.severity})`, `      ${x.message}`);
    for (const x of f.resolved) out.push(`  resolved  ${x.id} (was ${formatCount(x.count)})`);
    for (const x of f.changed) out.push(`  count     ${x.id}: ${formatCount(x.from)} → ${formatCount(x.to)}`);
  }
  if (out[out.length - 1] !== '') out.push('');
  out.push(diff.identical ? `No differences: ${diffSummary(diff)}.` : `Differences: ${diffSummary(diff)}.`);
  return out.join('\n') + '\n';
}
