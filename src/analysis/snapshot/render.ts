/** Rendering a model in the snapshot language: the whole file, or one subsystem's virtual document. */
import {
  COLLECTIONS,
  SUBSYSTEMS,
  SUBSYSTEM_TITLES,
  collectionsOf,
  type AnyEntity,
  type ClusterStatus,
  type CollectionName,
  type Subsystem,
} from '../../protocol';
import { formatCount } from '../format';
import { groupOf, isGrouped, stateOf } from '../grouping';
import type { ClusterModel } from '../model';
import { describeCounts, increment } from '../checks/common';
import { encodeString, encodeValue, GROUP_KIND, LAYOUTS, type CollectionLayout } from './layout';

/** Groups with more entities than this render as one `group` line in a virtual document. */
export const GROUP_SUMMARY_THRESHOLD = 200;

/** Where things are in a rendered (or parsed) document. All lines are 0-based. */
export interface DocumentIndex {
  /** The line of an entity, or of the group line (or first line of the group) that summarises it. */
  lineOf(collection: string, key: string): number | undefined;
  /** The line of a collection's `[collection]` section header. */
  sectionLine(collection: string): number | undefined;
}

export interface RenderedDocument extends DocumentIndex {
  text: string;
  lineCount: number;
}

/** The entity as one line: `kind key field=value … version=N`. */
export function renderEntity(layout: CollectionLayout, e: AnyEntity): string {
  const rec = e as unknown as Record<string, unknown>;
  let line = `${layout.kind} ${encodeString(e.key)}`;
  const derived = layout.keyParts?.(e.key);
  let omit: Record<string, string | number> | undefined = derived;
  if (derived) {
    for (const name in derived) {
      if (rec[name] !== derived[name]) {
        omit = undefined;
        break;
      }
    }
  }
  for (const f of layout.fields) {
    const v = rec[f.name];
    if (v === null && f.nullable) continue; // an absent nullable field reads back as null
    if (omit && f.name in omit) continue; // spelled out by the key
    line += ` ${f.name}=${encodeValue(v, f)}`;
  }
  return `${line} version=${e.version}`;
}

function headerLines(status: ClusterStatus): string[] {
  const bugs = Object.entries(status.bugs).map(([s, m]) => ` ${s}=${m}`).join('');
  const config = Object.entries(status.config).map(([k, v]) => ` ${k}=${v}`).join('');
  const counts = Object.entries(status.counts).map(([c, n]) => ` ${c}=${n}`).join('');
  return [
    `cluster ${encodeString(status.clusterName)} scenario=${encodeString(status.scenario)} seed=${status.seed} ` +
      `time=${status.time} seq=${status.seq} controlPlaneEpoch=${status.controlPlaneEpoch}`,
    `bugs${bugs}`,
    `config${config}`,
    `counts${counts}`,
  ];
}

class DocumentWriter {
  readonly lines: string[] = [];
  readonly sections = new Map<string, number>();
  /** Entities rendered on their own line; bounded by the document's length, never by the model's size. */
  readonly entityLines = new Map<string, Map<string, number>>();
  readonly groupLines = new Map<string, Map<string, number>>();

  push(line: string): number {
    this.lines.push(line);
    return this.lines.length - 1;
  }

  document(model: ClusterModel): RenderedDocument {
    const { sections, entityLines, groupLines } = this;
    return {
      text: this.lines.join('\n') + '\n',
      lineCount: this.lines.length,
      sectionLine: (collection) => sections.get(collection),
      lineOf(collection, key) {
        const line = entityLines.get(collection)?.get(key);
        if (line !== undefined) return line;
        const groups = groupLines.get(collection);
        if (!groups || !(collection in COLLECTIONS)) return undefined;
        const e = model.collections[collection as CollectionName].get(key);
        const g = e && groupOf(collection as CollectionName, e);
        return g === undefined ? undefined : groups.get(g);
      },
    };
  }
}

function writeCollection(w: DocumentWriter, model: ClusterModel, c: CollectionName, summarise: boolean): void {
  const layout = LAYOUTS[c];
  const map = model.collections[c];
  w.sections.set(c, w.push(`[${c}]  # ${COLLECTIONS[c].component}: ${formatCount(map.size)} ${layout.kind} entities`));
  if (!summarise || !isGrouped(c) || map.size <= GROUP_SUMMARY_THRESHOLD) {
    const lines = new Map<string, number>();
    for (const e of map.values()) lines.set(e.key, w.push(renderEntity(layout, e)));
    w.entityLines.set(c, lines);
    return;
  }
  // Two passes: count per group, then write small groups' entities and one line per huge group where it starts.
  const sizes = new Map<string, { count: number; states: Map<string, number> }>();
  for (const e of map.values()) {
    const g = groupOf(c, e)!;
    let s = sizes.get(g);
    if (!s) sizes.set(g, (s = { count: 0, states: new Map() }));
    s.count++;
    const state = stateOf(c, e);
    if (state !== undefined) increment(s.states, state);
  }
  const lines = new Map<string, number>();
  const groups = new Map<string, number>();
  for (const e of map.values()) {
    const g = groupOf(c, e)!;
    const s = sizes.get(g)!;
    if (s.count <= GROUP_SUMMARY_THRESHOLD) {
      lines.set(e.key, w.push(renderEntity(layout, e)));
    } else if (!groups.has(g)) {
      const states = s.states.size ? `${describeCounts(s.states)}; ` : '';
      groups.set(
        g,
        w.push(`${GROUP_KIND} ${encodeString(g)} count=${s.count}  # ${states}too many to list, browse them in the ${SUBSYSTEM_TITLES[COLLECTIONS[c].subsystem]} view`),
      );
    }
  }
  w.entityLines.set(c, lines);
  w.groupLines.set(c, groups);
}

function writeSubsystem(w: DocumentWriter, model: ClusterModel, s: Subsystem, summarise: boolean): void {
  w.push('');
  w.push(`[${s}]  # ${SUBSYSTEM_TITLES[s]}`);
  for (const c of collectionsOf(s)) writeCollection(w, model, c, summarise);
}

/** Renders the whole model as a `.clustersnap` file: every subsystem, every entity, lossless. */
export function renderSnapshotDocument(model: ClusterModel): RenderedDocument {
  const w = new DocumentWriter();
  w.push(`# Cluster snapshot of ${model.status.clusterName || 'a cluster'} at t=${model.status.time} (seq ${model.status.seq}).`);
  w.push('# One line per entity: kind key field=value ... version=N. Open it in VS Code to run the checks offline.');
  for (const line of headerLines(model.status)) w.push(line);
  for (const s of SUBSYSTEMS) writeSubsystem(w, model, s, false);
  return w.document(model);
}

export function renderSnapshot(model: ClusterModel): string {
  return renderSnapshotDocument(model).text;
}

/** Renders one subsystem (the virtual document `cluster://NAME/SUBSYSTEM.clustersnap`), huge groups summarised. */
export function renderSubsystem(model: ClusterModel, subsystem: Subsystem, clusterName: string): RenderedDocument {
  const w = new DocumentWriter();
  w.push(`# cluster://${clusterName}/${subsystem}.clustersnap: ${SUBSYSTEM_TITLES[subsystem]} of ${clusterName} at t=${model.status.time} (seq ${model.status.seq}), read-only.`);
  w.push(`# Groups of more than ${GROUP_SUMMARY_THRESHOLD} entities are one \`group\` line with a count.`);
  for (const line of headerLines({ ...model.status, clusterName })) w.push(line);
  writeSubsystem(w, model, subsystem, true);
  return w.document(model);
}
