/**
 * What every subsystem's tree layout is made of: the node builders of the synced view (`Context`,
 * with the findings) and of the first view (`FirstView`, from `cluster.summary`'s counts), and the
 * `TreeLayout` each of ./shards.ts, ./wal.ts, ./ddl.ts, ./regions.ts and ./partitions.ts exports.
 * A layout's group levels are written once, against `GroupMaker`, for both views.
 */
import {
  formatCount,
  plural,
  type CollectionName,
  type EntityOf,
  type Finding,
  type Health,
  type SummaryResult,
  type SyncProgress,
  type TreeNode,
  type Subsystem,
  percentDone,
} from '../../protocol';
import type { ClusterModel, EntityMap } from '../../analysis/model';
import type { ClusterChecker } from '../checker';
import type { ClusterSession } from '../session';
import { clusterDocUri } from '../../protocol/uri';

export interface TreeCluster {
  session: ClusterSession;
  checker: ClusterChecker;
}

/** A lazily materialised list: `count` children, made only for the page asked for. */
export interface Children {
  count: number;
  make(index: number): TreeNode;
}

/** One subsystem's view: its levels, from the cluster's root down. */
export interface TreeLayout {
  /** The children of the node at `path` (segments below the cluster's root) once synced; null: no such node. */
  children(ctx: Context, path: string[]): Children | null;
  /** How many levels `cluster.summary` knows (its groups): below them the first view says the entities are on their way. */
  readonly firstViewDepth: number;
  /** The same groups before the first sync ends (same ids), from the summary's counts; null: no such node. */
  firstView(fv: FirstView, path: string[]): Children | null;
  /**
   * The segments of the node under which an entity of `collection` shows, from its fields; undefined
   * when the view does not show it (its collection, or a parent it lacks).
   */
  entityPath(model: ClusterModel, collection: CollectionName, key: string): string[] | undefined;
}

/** A group node, made by either view: the synced one counts its findings, the first view has none yet. */
export interface GroupMaker {
  /** Findings whose group is `group` or lies under it. */
  groupFindings(group: string): Finding[];
  group(segment: string, label: string, description: string, icon: string, findings: Finding[]): TreeNode;
}

export function list<T>(items: T[], make: (item: T) => TreeNode): Children {
  return { count: items.length, make: (i) => make(items[i]) };
}

export function count(n: number, what: string): string {
  return `${formatCount(n)} ${what}`;
}

export function childId(parentId: string, segment: string): string {
  return `${parentId}/${encodeURIComponent(segment)}`;
}

/** `model.collections[c]`, typed. */
export function collectionOf<C extends CollectionName>(model: ClusterModel, c: C): EntityMap<EntityOf<C>> {
  return model.collections[c] as EntityMap<EntityOf<C>>;
}

export function message(parentId: string, cluster: string, label: string, health: Health): TreeNode {
  return {
    id: `${parentId}/@message`,
    kind: 'message',
    label,
    health,
    icon: health === 'error' ? 'error' : 'info',
    hasChildren: false,
    cluster,
  };
}

export function healthOf(findings: readonly Finding[]): Health {
  if (findings.some((f) => f.severity === 'error')) return 'error';
  if (findings.some((f) => f.severity === 'warning')) return 'warning';
  return 'ok';
}

/** `34% (260,000 of 770,000 entities, 120,000/s)` */
export function syncedText(p: SyncProgress): string {
  return `${percentDone(p)}% (${formatCount(p.done)} of ${formatCount(p.total)} entities, ${formatCount(p.entitiesPerSecond)}/s)`;
}

// -------------------------------------------------------------- context --

/** The synced view of one cluster's subsystem: its model and its findings. */
export class Context implements GroupMaker {
  readonly findings: Finding[];
  readonly stale: boolean;
  constructor(
    readonly cluster: TreeCluster,
    readonly subsystem: Subsystem,
    readonly model: ClusterModel,
    readonly parentId: string,
  ) {
    this.findings = cluster.checker.findings(subsystem);
    this.stale = cluster.session.state !== 'live';
  }

  get name(): string {
    return this.cluster.session.name;
  }

  col<C extends CollectionName>(c: C): EntityMap<EntityOf<C>> {
    return collectionOf(this.model, c);
  }

  /** Findings whose group is `group` or lies under it. */
  groupFindings(group: string): Finding[] {
    return this.findings.filter((f) => f.group === group || f.group.startsWith(`${group}/`) || f.anchor.key.startsWith(`${group}/`));
  }

  health(findings: readonly Finding[]): Health {
    return this.stale ? 'stale' : healthOf(findings);
  }

  group(segment: string, label: string, description: string, icon: string, findings: Finding[]): TreeNode {
    const problems = findings.length ? ` · ${plural(findings.length, 'problem')}` : '';
    return {
      id: childId(this.parentId, segment),
      kind: 'group',
      label,
      description: `${description}${problems}`,
      health: this.health(findings),
      icon,
      hasChildren: true,
      cluster: this.name,
      findingIds: findings.map((f) => f.id),
    };
  }

  entity(
    collection: CollectionName,
    key: string,
    label: string,
    description: string,
    hasChildren = false,
    icon = 'symbol-field',
  ): TreeNode {
    const ids = this.cluster.checker.findingsOfKey(key) ?? [];
    const findings = ids.map((id) => this.cluster.checker.finding(id)).filter((f): f is Finding => !!f);
    const doc = this.cluster.checker.document(this.model, this.subsystem);
    const line = doc.lineOf(collection, key);
    return {
      id: childId(this.parentId, key),
      kind: 'entity',
      label,
      description,
      tooltip: `${collection} ${key}`,
      health: findings.length || this.stale ? this.health(findings) : 'ok',
      icon,
      hasChildren,
      cluster: this.name,
      entity: { collection, key },
      findingIds: ids,
      location: line === undefined ? undefined : { uri: clusterDocUri(this.name, this.subsystem), line },
    };
  }
}

// ----------------------------------------------------------- first view --

/**
 * The views before the first sync ends, from `cluster.summary`: the same group nodes (same ids, so
 * an expanded group stays expanded when the entities arrive) with the cluster's counts. Below the
 * groups the summary knows nothing: a message says the entities are on their way.
 */
export class FirstView implements GroupMaker {
  constructor(
    readonly session: ClusterSession,
    readonly summary: SummaryResult,
    readonly parentId: string,
  ) {}

  /** The groups of a collection, by name. */
  groups(c: CollectionName): Map<string, { count: number; states?: Record<string, number> }> {
    return new Map((this.summary.collections[c]?.groups ?? []).map((g) => [g.group, g]));
  }

  total(c: CollectionName): number {
    return this.summary.collections[c]?.total ?? 0;
  }

  /** No finding is known before the sync ends. */
  groupFindings(): Finding[] {
    return [];
  }

  group(segment: string, label: string, description: string, icon: string): TreeNode {
    const progress = this.session.syncProgress;
    return {
      id: childId(this.parentId, segment),
      kind: 'group',
      label,
      description,
      tooltip: `Counted by the cluster; the entities arrive when the sync ends${progress ? ` (${syncedText(progress)})` : ''}`,
      health: 'none',
      icon,
      hasChildren: true,
      cluster: this.session.name,
    };
  }

  /** What a group holds is not known before the sync ends. */
  loading(): Children {
    const progress = this.session.syncProgress;
    const label = `Loading: the entities arrive when the sync ends${progress ? ` (${syncedText(progress)})` : ''}`;
    return list([message(this.parentId, this.session.name, label, 'none')], (n) => n);
  }
}
