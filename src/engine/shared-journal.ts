/**
 * A team gateway's own journal, read over the protocol (`journal.read`) by every engineer's engine:
 * the Repair History lists the team's repairs (with who made them), and undo builds its plan from
 * the gateway's lines, so one engineer can undo another's repair (the gateway's role check and the
 * usual conditional rules apply). Previews are reported to it (`audit.preview`) for its audit.
 *
 * A cluster lists these methods in `initialize` only when it keeps a journal; the simulator does
 * not, and the editor's own journal stays the only one there.
 *
 * No `vscode-languageserver` here: the CLI uses this module too.
 */
import {
  errorText,
  MAX_JOURNAL_READ_LIMIT,
  type Finding,
  type JournalLine,
  type JournalRead,
  type RepairAudit,
  type RepairHistoryEntry,
  type RepairOption,
} from '../protocol';
import { repairHistory, type RepairInfo } from './journal';
import type { WorkspaceCluster } from './cluster';
import type { ClusterSession } from './session';

/** Whether the cluster serves method `m` now (it listed it in `initialize` on the live link). */
function serves(session: ClusterSession, m: 'journal.read' | 'audit.preview'): boolean {
  return session.link?.init.methods?.includes(m) ?? false;
}

/** Sessions whose cluster served its journal once: while one is not connected, the history says it could not read it. */
const servedOnce = new WeakSet<ClusterSession>();

/** Whether the cluster keeps a journal of its own that it serves (a team gateway with `journal`). */
export function servesJournal(session: ClusterSession): boolean {
  const yes = serves(session, 'journal.read');
  if (yes) servedOnce.add(session);
  return yes;
}

/**
 * Every line of the cluster's own journal, page by page. Each `repair` line's cluster is the name
 * this workspace connected it under (the gateway writes its own `clusterName`), so history, undo and
 * the incarnation checks find it as they find the editor's. Rejects if a page cannot be read.
 */
export async function readSharedJournal(session: ClusterSession): Promise<JournalRead> {
  const lines: JournalLine[] = [];
  const problems: string[] = [];
  let after = 0;
  for (;;) {
    const link = session.link;
    if (!link) throw new Error(`${session.name} is not connected`);
    const page = await link.request('journal.read', { after, limit: MAX_JOURNAL_READ_LIMIT });
    for (const l of page.lines) lines.push(l.type === 'repair' ? { ...l, cluster: session.name } : l);
    problems.push(...page.problems);
    if (page.end) break;
    if (page.next <= after) throw new Error(`${session.name}'s journal did not move past line ${after}`);
    after = page.next;
  }
  return { lines, problems };
}

/**
 * The editor's history merged with the shared journals of the connected clusters that serve one:
 * an entry a gateway journalled (it says who) replaces the local entry of the same id; local-only
 * entries stay. A journal that cannot be read is a problem, never an empty history.
 */
export async function mergeSharedHistory(
  local: readonly RepairHistoryEntry[],
  clusters: readonly WorkspaceCluster[],
  incarnations: ReadonlyMap<string, string>,
): Promise<{ entries: RepairHistoryEntry[]; problems: string[] }> {
  const byId = new Map(local.map((e) => [e.id, e]));
  const problems: string[] = [];
  for (const c of clusters) {
    if (!servesJournal(c.session)) {
      if (servedOnce.has(c.session)) problems.push(`${c.name}'s gateway journal could not be read: the cluster is ${c.session.state}`);
      continue;
    }
    try {
      const read = await readSharedJournal(c.session);
      problems.push(...read.problems.map((p) => `${c.name}'s gateway journal: ${p}`));
      for (const e of repairHistory(read.lines, incarnations)) byId.set(e.id, e);
    } catch (e) {
      problems.push(`${c.name}'s gateway journal could not be read: ${errorText(e)}`);
    }
  }
  const entries = [...byId.values()].sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
  return { entries, problems };
}

/**
 * The shared journal lines an undo is built from, or undefined (then the editor's own journal).
 * With an `id`: those of the connected cluster whose journal has that repair (or a repair starting
 * with it). Without: when there is no journal of the editor's own (`cluster-check undo URL`), every
 * shared journal's lines (`cluster` narrows them to one cluster).
 */
export async function sharedUndoLines(
  clusters: readonly WorkspaceCluster[],
  args: { id?: string; cluster?: string },
  hasOwnJournal: boolean,
  log: (message: string) => void,
): Promise<JournalLine[] | undefined> {
  if (!args.id && hasOwnJournal) return undefined;
  const all: JournalLine[] = [];
  for (const c of clusters) {
    if (!servesJournal(c.session) || (args.cluster && c.name.toLowerCase() !== args.cluster.toLowerCase())) continue;
    let read: JournalRead;
    try {
      read = await readSharedJournal(c.session);
    } catch (e) {
      log(`[${c.name}] the gateway's journal could not be read: ${errorText(e)}`);
      continue;
    }
    if (!args.id) all.push(...read.lines);
    else if (read.lines.some((l) => l.type === 'repair' && (l.repair === args.id || l.repair.startsWith(args.id!)))) return read.lines;
  }
  return all.length ? all : undefined;
}

/** Tells a cluster that keeps a journal that a preview was computed (fire-and-forget: never holds the preview; a failure is logged). */
export function auditPreview(c: WorkspaceCluster, finding: Finding, option: RepairOption, log: (message: string) => void): void {
  const link = c.session.link;
  if (!link || !serves(c.session, 'audit.preview')) return;
  link
    .request('audit.preview', {
      findingId: finding.id.slice(0, 1024),
      rule: finding.rule,
      title: option.title.slice(0, 1024),
      targets: option.targetCount,
    })
    .catch((e: unknown) => log(`[${c.name}] the preview could not be journalled by the gateway: ${errorText(e)}`));
}

/** What every batch of a repair tells a gateway of it (`RepairParams.audit`), under the id the editor's journal gives it. */
export function repairAudit(repair: string, info: RepairInfo): Omit<RepairAudit, 'batch'> {
  const { option } = info;
  return {
    repair,
    findingId: info.findingId.slice(0, 1024),
    ...(info.rule ? { rule: info.rule } : {}),
    option: option.id.slice(0, 128),
    title: option.title.slice(0, 1024),
    safety: option.safety,
    undoable: option.undoable,
    ...(option.undoNote ? { undoNote: option.undoNote.slice(0, 2048) } : {}),
    ...(info.undoOf ? { undoOf: info.undoOf } : {}),
    ...(info.run ? { run: info.run } : {}),
    plan: option.operations.map((o) => ({ command: o.command, targets: 'targets' in o ? o.targets.length : 1 })),
  };
}
