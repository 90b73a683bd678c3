/**
 * `Cluster: Show Timeline`: the recent state transitions of a cluster, or of the entity a tree item
 * shows, as a read-only document (`cluster-timeline:`). The server filters and renders them
 * (`clusterDebugger/timeline`), so any LSP client gets the same text.
 *
 * A document, not a tree: a timeline is a log read top to bottom, searched (Ctrl+F for a key or a
 * time), and copied into an incident ticket; the editor does all that for text, at 10,000 lines
 * with no paging, and it is the same kind of document the repair previews already open as.
 */
import { QuickPickItemKind, window, type QuickPickItem, type Uri } from 'vscode';
import {
  COLLECTIONS,
  SUBSYSTEM_TITLES,
  SUBSYSTEMS,
  isCollectionName,
  type CollectionName,
  type Subsystem,
} from '../../protocol/collections';
import type { TimelineResult } from '../../protocol/lsp';
import type { Ctx } from '../ctx';
import type { Element } from './trees/elements';

/** What to show: a cluster's timeline, or one entity's; `subsystems`/`states` filter it. */
export interface TimelineTarget {
  cluster?: string;
  collection?: CollectionName;
  key?: string;
  subsystems?: Subsystem[];
  states?: string[];
  /** Ask for the filter with a quick pick (the palette, a cluster's menu); not for an entity, nor when the caller gave one. */
  pick: boolean;
}

/** How many transitions the document shows at most (the newest). */
export const TIMELINE_DOCUMENT_LIMIT = 5000;

/** The target of a command's argument: a tree element (entity, cluster), an object `{ cluster, collection, key, subsystems, states }`, or nothing. */
export function timelineTarget(arg: unknown): TimelineTarget {
  const el = arg as Element | undefined;
  if (typeof el === 'object' && el !== null && el.type === 'server') {
    const n = el.node;
    if (n.entity) return { cluster: n.cluster, collection: n.entity.collection, key: n.entity.key, pick: false };
    // A cluster's (or a group's) node in a subsystem view: that subsystem, to begin with.
    return { cluster: n.cluster, subsystems: [el.subsystem], pick: true };
  }
  if (el?.type === 'cluster') return { cluster: el.info.name, pick: true };
  if (el?.type === 'subsystem') return { cluster: el.cluster.info.name, subsystems: [el.subsystem], pick: true };
  if (typeof arg !== 'object' || arg === null) return { pick: true };
  const o = arg as Record<string, unknown>;
  const strings = (v: unknown) => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : undefined);
  return {
    cluster: typeof o.cluster === 'string' ? o.cluster : undefined,
    collection: typeof o.collection === 'string' && isCollectionName(o.collection) ? o.collection : undefined,
    key: typeof o.key === 'string' ? o.key : undefined,
    subsystems: strings(o.subsystems)?.filter((s): s is Subsystem => (SUBSYSTEMS as readonly string[]).includes(s)),
    states: strings(o.states),
    pick: false,
  };
}

interface FilterItem extends QuickPickItem {
  subsystem?: Subsystem;
  state?: string;
}

/** Asks which subsystems and states to show (none picked: all); undefined when dismissed. */
async function pickFilter(
  cluster: string,
  facets: TimelineResult['facets'],
  preset: TimelineTarget,
): Promise<{ subsystems: Subsystem[]; states: string[] } | undefined> {
  const items: FilterItem[] = [{ label: 'Subsystems', kind: QuickPickItemKind.Separator }];
  for (const s of SUBSYSTEMS) {
    const n = facets.subsystems[s] ?? 0;
    items.push({
      label: SUBSYSTEM_TITLES[s],
      description: `${n} transition${n === 1 ? '' : 's'}`,
      subsystem: s,
      picked: preset.subsystems?.includes(s),
    });
  }
  const states = Object.entries(facets.states);
  if (states.length) items.push({ label: 'States (from or to)', kind: QuickPickItemKind.Separator });
  for (const [state, n] of states)
    items.push({ label: state, description: `${n} transition${n === 1 ? '' : 's'}`, state, picked: preset.states?.includes(state) });
  const picked = await window.showQuickPick(items, {
    title: `Timeline of ${cluster}: filter by subsystem and state`,
    placeHolder: 'Pick subsystems and states to show, or none for every transition',
    canPickMany: true,
    matchOnDescription: true,
  });
  if (!picked) return undefined;
  return {
    subsystems: picked.flatMap((i) => (i.subsystem ? [i.subsystem] : [])),
    states: picked.flatMap((i) => (i.state ? [i.state] : [])),
  };
}

/** Opens the timeline document of `target` (its cluster resolved); returns it, or undefined when the filter pick was dismissed. */
export async function showTimeline(
  ctx: Ctx,
  target: TimelineTarget & { cluster: string },
): Promise<{ uri: Uri; result: TimelineResult } | undefined> {
  const api = ctx.requireApi();
  let filter = { subsystems: target.subsystems, states: target.states };
  if (target.pick && target.key === undefined) {
    const { facets } = await api.request('timeline', { cluster: target.cluster, limit: 0 });
    const picked = await pickFilter(target.cluster, facets, target);
    if (!picked) return undefined;
    filter = picked;
  }
  const result = await api.request('timeline', {
    cluster: target.cluster,
    collection: target.collection,
    key: target.key,
    subsystems: filter.subsystems,
    states: filter.states,
    limit: TIMELINE_DOCUMENT_LIMIT,
  });
  const of = target.key !== undefined ? `${target.collection ?? 'entity'}/${target.key}` : 'cluster';
  const uri = await ctx.timelines.open(`/${target.cluster}/${of}.timeline`, result.text);
  const subsystem = target.collection ? COLLECTIONS[target.collection].subsystem : undefined;
  ctx.log.info(
    `Timeline of ${target.cluster}${target.key ? ` ${target.key}${subsystem ? ` (${subsystem})` : ''}` : ''}: ${result.transitions.length} of ${result.matched} matching transitions.`,
  );
  return { uri, result };
}
