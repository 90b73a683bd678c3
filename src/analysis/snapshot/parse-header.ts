/**
 * The snapshot's header lines (`cluster`, `bugs`, `config`, `counts`, `health`), gathered into a
 * draft as they are read, and the cluster's status made from it once the file is read.
 */
import { ClusterConfig, ClusterStatus, COLLECTION_NAMES, isCollectionName, SUBSYSTEMS } from '../../protocol';
import type { ClusterModel } from '../model';
import { LAYOUTS } from './layout';
import { detach, intField, LineError, type Tokens } from './parse-tokens';

const DEFAULT_STATUS: ClusterStatus = {
  clusterName: '',
  scenario: '',
  seed: 0,
  bugs: Object.fromEntries(SUBSYSTEMS.map((s) => [s, 'fixed'])) as ClusterStatus['bugs'],
  time: 0,
  seq: 0,
  controlPlaneEpoch: 0,
  counts: Object.fromEntries(COLLECTION_NAMES.map((c) => [c, 0])) as ClusterStatus['counts'],
  // Upstream defaults, used only when a file has no `config` line.
  config: { maxRunningProcedures: 128, maxRetryTimes: 3, etcdQuotaBytes: 2 * 1024 ** 3 },
};

export interface StatusDraft {
  clusterName?: string;
  scenario?: string;
  seed?: number;
  time?: number;
  seq?: number;
  controlPlaneEpoch?: number;
  bugs: Record<string, string>;
  config: Record<string, number>;
  counts: Record<string, number>;
  /** `health` lines, per subsystem: its fields, and per collection named by `collection=` its fields. */
  health: Record<string, { fields: Record<string, string>; collections: Record<string, Record<string, string>> }>;
  line: number;
}

const CLUSTER_INTS = new Set(['seed', 'time', 'seq', 'controlPlaneEpoch']);

const CONFIG_FIELDS: ReadonlySet<string> = new Set(Object.keys(ClusterConfig.shape));

export function readHeader(t: Tokens, s: StatusDraft): void {
  const onlyFields = () => {
    if (t.key !== undefined) throw new LineError(t.keyColumn, `\`${t.kind}\` takes only field=value`);
  };
  for (let i = 0; i < t.names.length || i === 0; i++) {
    if (t.kind === 'cluster' && i === 0) {
      if (t.key === undefined) throw new LineError(t.kindColumn, 'missing the cluster name after `cluster`');
      s.clusterName = detach(t.key);
    }
    if (i >= t.names.length) break;
    const [name, raw, quoted, col] = [t.names[i]!, t.values[i]!, t.quoted[i]!, t.columns[i]!];
    switch (t.kind) {
      case 'cluster':
        if (name === 'scenario') s.scenario = detach(raw);
        else if (CLUSTER_INTS.has(name)) (s as unknown as Record<string, number>)[name] = intField(name, raw, quoted, col);
        else throw new LineError(col, `unknown cluster field \`${name}\``);
        break;
      // Field names are user text: only known ones index a table (never `__proto__` and the like).
      case 'bugs':
        onlyFields();
        if (!SUBSYSTEM_NAMES.has(name))
          throw new LineError(col, `unknown bugs field \`${name}\`; expected a subsystem (${SUBSYSTEMS.join(', ')})`);
        s.bugs[name] = detach(raw);
        break;
      case 'config':
        onlyFields();
        if (!CONFIG_FIELDS.has(name)) throw new LineError(col, `unknown config field \`${name}\``);
        s.config[name] = intField(name, raw, quoted, col);
        break;
      case 'counts':
        onlyFields();
        if (!isCollectionName(name)) throw new LineError(col, `unknown collection \`${name}\` in counts`);
        s.counts[name] = intField(name, raw, quoted, col);
        break;
      case 'health':
        break; // whole line below
    }
  }
  if (t.kind === 'health') readHealth(t, s);
}

const HEALTH_FIELDS: ReadonlySet<string> = new Set(['state', 'reason', 'system', 'version', 'from', 'collection']);

/** `health <subsystem> state=… …` or `health <subsystem> collection=<c> state=… …` (see render's `healthLines`). */
function readHealth(t: Tokens, s: StatusDraft): void {
  if (t.key === undefined || !SUBSYSTEM_NAMES.has(t.key)) {
    throw new LineError(t.keyColumn ?? t.kindColumn, `\`health\` needs a subsystem (${SUBSYSTEMS.join(', ')})`);
  }
  const fields: Record<string, string> = {};
  t.names.forEach((name, i) => {
    if (!HEALTH_FIELDS.has(name)) throw new LineError(t.columns[i]!, `unknown health field \`${name}\``);
    fields[name] = detach(t.values[i]!);
  });
  const sub = (s.health[t.key] ??= { fields: {}, collections: {} });
  const collection = fields.collection;
  if (collection === undefined) sub.fields = fields;
  else {
    if (!isCollectionName(collection)) throw new LineError(t.kindColumn, `unknown collection \`${collection}\` in health`);
    delete fields.collection;
    sub.collections[collection] = fields;
  }
}

/** The `health` lines as `ClusterStatus.subsystems` (checked by its schema in `finishStatus`), or undefined for none. */
function subsystemsOf(s: StatusDraft): Record<string, unknown> | undefined {
  const entries = Object.entries(s.health);
  if (!entries.length) return undefined;
  return Object.fromEntries(
    entries.map(([subsystem, { fields, collections }]) => {
      const { system, version, from, ...rest } = fields;
      return [
        subsystem,
        {
          ...rest,
          ...(Object.keys(collections).length ? { collections } : {}),
          ...(system !== undefined || version !== undefined ? { version: { system, version, from: from ?? '' } } : {}),
        },
      ];
    }),
  );
}

export type Report = (line: number, column: number, message: string) => void;

export function finishStatus(s: StatusDraft, seen: boolean, model: ClusterModel['collections'], report: Report): ClusterStatus {
  // Counts a file leaves out are those of the entities it holds.
  const counts: Record<string, number> = {};
  for (const c of COLLECTION_NAMES) counts[c] = model[c].size;
  const draft = {
    clusterName: s.clusterName ?? DEFAULT_STATUS.clusterName,
    scenario: s.scenario ?? DEFAULT_STATUS.scenario,
    seed: s.seed ?? DEFAULT_STATUS.seed,
    bugs: { ...DEFAULT_STATUS.bugs, ...s.bugs },
    time: s.time ?? DEFAULT_STATUS.time,
    seq: s.seq ?? DEFAULT_STATUS.seq,
    controlPlaneEpoch: s.controlPlaneEpoch ?? DEFAULT_STATUS.controlPlaneEpoch,
    counts: { ...counts, ...s.counts },
    config: { ...DEFAULT_STATUS.config, ...s.config },
    ...(subsystemsOf(s) ? { subsystems: subsystemsOf(s) } : {}),
  };
  if (!seen) report(0, 0, 'missing the `cluster NAME scenario=… time=…` header line');
  const r = ClusterStatus.safeParse(draft);
  if (r.success) return r.data;
  for (const issue of r.error.issues.slice(0, 5)) {
    report(s.line, 0, `header: ${issue.path.join('.')}: ${issue.message}`);
  }
  return { ...DEFAULT_STATUS, clusterName: draft.clusterName, scenario: draft.scenario, time: draft.time, seq: draft.seq };
}

export const SUBSYSTEM_NAMES = new Set<string>(SUBSYSTEMS);
export const KIND_WORDS = new Set(Object.values(LAYOUTS).map((l) => l.kind));
