/**
 * One cluster of the workspace, as the rest of the engine sees it (`WorkspaceCluster`: the tree,
 * find, topology, stuck work and the server read it), and what the workspace keeps about it besides
 * (`ClusterEntry`: its check timer, the plans pinned to its findings, the repairs in progress).
 *
 * Nothing here imports the workspace, so the modules that read a cluster (find, topology, stuck
 * work) need not import it either: no import circle runs through the workspace.
 */
import { SUBSYSTEMS, type ClusterInfo, type Finding, type FindingSummary, type ProtectionLevel, type Subsystem } from '../protocol';
import { Timeline } from '../analysis';
import { ClusterChecker, type RuleSettings } from './checker';
import type { ClusterSession } from './session';
import { readOnlyReason as protectionReadOnlyReason } from '../protocol/preview';

/** One connected (or failed, or reconnecting) cluster. */
export interface WorkspaceCluster {
  readonly name: string;
  readonly session: ClusterSession;
  readonly checker: ClusterChecker;
  /** How much this cluster is protected from repairs; `read-only` is enforced before anything is sent. */
  readonly protection: ProtectionLevel;
  /** Its entities' state transitions, from the change events (bounded: `WorkspaceOptions.maxTransitions`). */
  readonly timeline: Timeline;
}

export interface Pinned {
  finding: Finding;
  incarnation: string | undefined;
}

/** The workspace's own state of one cluster (the workspace and the repair runner change it). */
export interface ClusterEntry extends WorkspaceCluster {
  timer: NodeJS.Timeout | null;
  checking: Promise<void> | null;
  /** How long the last check took: the next one waits at least as long, so checks use at most half the CPU. */
  lastCheckMs: number;
  /**
   * Repairs of this cluster in progress. Meanwhile the events they cause only
   * mark subsystems dirty: re-checking 760,000 shards after every batch would
   * take the CPU the batches need, and the views are updated once, when the
   * repair has caught up.
   */
  repairing: number;
  /**
   * The finding as the user last saw it (a code action, a plan request), and
   * the incarnation it was computed on. A repair sends that plan, so whatever
   * moved on since is refused by the cluster, like eslint refuses a fix for a
   * changed document version; a plan from before a restart is never sent.
   */
  pinned: Map<string, Pinned>;
  /** Subsystems whose health changed (`statusChanged`): the next check announces them even if their findings did not change. */
  statusDirty: Set<Subsystem>;
  protection: ProtectionLevel;
}

/** A new cluster of the workspace: its session (not started), checker and timeline; nothing checked, pinned or repairing yet. */
export function newClusterEntry(
  name: string,
  session: ClusterSession,
  rules: RuleSettings,
  protection: ProtectionLevel,
  maxTransitions: number,
): ClusterEntry {
  return {
    name,
    session,
    checker: new ClusterChecker(name, rules),
    timer: null,
    checking: null,
    lastCheckMs: 0,
    repairing: 0,
    pinned: new Map(),
    statusDirty: new Set(),
    protection,
    timeline: new Timeline(maxTransitions),
  };
}

/** A refusal the caller turns into its own error (an LSP error, exit code 2). */
export class WorkspaceError extends Error {}

/** The first connection to a cluster failed; `reason` says why, in words. */
export class ConnectError extends WorkspaceError {
  constructor(
    cluster: string,
    readonly reason: string,
  ) {
    super(`cannot connect to ${cluster}: ${reason}`);
  }
}

/** The cluster says it refuses every repair (`ClusterStatus.readOnly`: a gateway without `"repairs": true`). */
export function isReadOnly(c: WorkspaceCluster): boolean {
  return c.session.model?.status.readOnly === true;
}

/**
 * Why no repair of this cluster may be sent, or undefined: the cluster refuses every repair, the user's
 * role on the gateway is viewer, or its protection level is `read-only` (code actions show it as their disabled reason).
 */
export function readOnlyReason(c: WorkspaceCluster): string | undefined {
  return protectionReadOnlyReason({ name: c.name, protection: c.protection, status: c.session.model?.status, caller: c.session.caller });
}

/** What the views and the CLI show of a cluster: its connection, problems per subsystem, protection and sync. */
export function clusterInfo(c: WorkspaceCluster): ClusterInfo {
  const problems = Object.fromEntries(SUBSYSTEMS.map((s) => [s, c.checker.findings(s).length])) as Record<Subsystem, number>;
  const all = c.checker.findings();
  return {
    name: c.session.name,
    url: c.session.url,
    state: c.session.state,
    error: c.session.error,
    status: c.session.model?.status ?? null,
    problems,
    errors: all.filter((f) => f.severity === 'error').length,
    warnings: all.filter((f) => f.severity === 'warning').length,
    protection: c.protection,
    ...(c.session.syncProgress ? { sync: c.session.syncProgress } : {}),
    ...(c.checker.provisionalCount ? { provisional: c.checker.provisionalCount } : {}),
    ...(c.checker.checked ? { checked: true as const } : {}),
    ...(c.session.syncedAt !== null ? { syncedAt: new Date(c.session.syncedAt).toISOString() } : {}),
    ...(c.session.caller ? { caller: c.session.caller } : {}),
  };
}

/** A finding as the editor lists it: with its cluster, and its repairs without their operations. */
export function findingSummary(cluster: string, f: Finding): FindingSummary {
  return {
    ...f,
    cluster,
    repairs: f.repairs.map((r) => ({
      id: r.id,
      title: r.title,
      safety: r.safety,
      targetCount: r.targetCount,
      description: r.description,
      undoable: r.undoable,
      ...(r.undoNote ? { undoNote: r.undoNote } : {}),
    })),
  };
}
