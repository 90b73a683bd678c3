/** Rendering a model in the snapshot language: the whole file, or one subsystem's virtual document. */
import {
  COLLECTIONS,
  isCollectionName,
  SUBSYSTEMS,
  SUBSYSTEM_TITLES,
  collectionsOf,
  type AnyEntity,
  type ClusterStatus,
  type CollectionName,
  type Subsystem,
  type Transition,
} from '../../protocol';
import { formatClusterTime, formatCount, isWallClock } from '../../protocol/format';
import { clusterDocUri } from '../../protocol/uri';
import { groupIterator, groupOf, isGrouped, stateOf } from '../grouping';
import type { ClusterModel, EntityMap } from '../model';
import { EntityTable } from '../table';
import { describeCounts, increment } from '../checks/common';
import { ANNOTATION_PREFIX, encodeString, GROUP_KIND, LAYOUTS, TIMELINE_KIND, TRANSITION_KIND, type CollectionLayout } from './layout';

/** What a snapshot file carries beside the model. */
export interface SnapshotExtras {
  /** The recorded state transitions, oldest first, and how many older ones the recorder had dropped. */
  timeline?: { transitions: readonly Transition[]; dropped?: number };
}

/** One transition as an annotation line: `#@ transition KEY collection=… seq=… time=… from=… to=…` (from/to left out when null). */
export function renderTransition(t: Transition): string {
  let line = `${ANNOTATION_PREFIX}${TRANSITION_KIND} ${encodeString(t.key)} collection=${t.collection} seq=${t.seq} time=${t.time}`;
  if (t.from !== null) line += ` from=${encodeString(t.from)}`;
  if (t.to !== null) line += ` to=${encodeString(t.to)}`;
  return line;
}

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
  return lineRendererOf(layout)(e);
}

type LineRenderer = (e: AnyEntity) => string;

const lineRenderers = new Map<CollectionLayout, LineRenderer>();

function lineRendererOf(layout: CollectionLayout): LineRenderer {
  let r = lineRenderers.get(layout);
  if (!r) lineRenderers.set(layout, (r = compileLineRenderer(layout)));
  return r;
}

/**
 * A collection's line renderer, made once from its layout (so from the protocol's schemas):
 * straight-line code with a property read per field, instead of a loop over the fields by name.
 * What it writes is what this did, field by field (the property test compares them):
 *
 * ```
 * let line = `${layout.kind} ${encodeString(e.key)}`;
 * const omit = layout.keyParts.matches(e.key, e) ? layout.keyParts.names : undefined;
 * for (const f of layout.fields) {
 *   const v = e[f.name];
 *   if (v === null && f.nullable) continue; // an absent nullable field reads back as null
 *   if (omit?.has(f.name)) continue; // spelled out by the key
 *   line += ` ${f.name}=${encodeValue(v, f)}`;
 * }
 * return `${line} version=${e.version}`;
 * ```
 *
 * A string field's values repeat from one entity to the next (an index UID, a leader, a doc
 * mapping): each such field remembers its last value and how it was written, so a run of equal
 * values is encoded once. (`new Function`, as `table.ts`'s entity makers: it runs in the language
 * server and the CLI, never in a webview.)
 */
function compileLineRenderer(layout: CollectionLayout): LineRenderer {
  const keyNames = layout.keyParts.names;
  const state: string[] = [];
  const body: string[] = [];
  layout.fields.forEach((f, i) => {
    const get = `e[${JSON.stringify(f.name)}]`;
    const prefix = JSON.stringify(` ${f.name}=`);
    let write: string;
    switch (f.type) {
      case 'string':
        if (f.bare) write = `line += ${prefix} + (typeof v === 'string' ? v : String(v));`;
        else {
          // Equal strings are written alike: the last one's token is kept (`===` on strings compares their text).
          state.push(`let last${i} = '', token${i} = '""';`);
          write = `line += ${prefix} + (v === last${i} && typeof v === 'string' ? token${i} : (token${i} = encodeString(String((last${i} = v)))));`;
        }
        break;
      case 'number':
      case 'boolean':
        write = `line += ${prefix} + String(v);`;
        break;
      case 'json':
        write = `line += ${prefix} + JSON.stringify(v);`;
        break;
    }
    const skipNull = f.nullable ? 'v !== null' : 'true';
    const inKey = keyNames.has(f.name);
    body.push(
      `v = ${get};`,
      `if (${skipNull}${inKey ? ' && !omit' : ''}) { if (v === null) line += ${JSON.stringify(` ${f.name}=null`)}; else { ${write} } }`,
    );
  });
  const anyInKey = layout.fields.some((f) => keyNames.has(f.name));
  const code = `${state.join(' ')}
return function renderLine(e) {
  const key = e.key;
  let line = ${JSON.stringify(layout.kind + ' ')} + encodeString(key);
  const omit = ${anyInKey ? 'matches(key, e)' : 'false'};
  let v;
  ${body.join('\n  ')}
  return line + ' version=' + String(e.version);
};`;
  return new Function('encodeString', 'matches', code)(encodeString, layout.keyParts.matches) as LineRenderer;
}

function headerLines(status: ClusterStatus, simulatorFields = true): string[] {
  const bugs = Object.entries(status.bugs)
    .map(([s, m]) => ` ${s}=${m}`)
    .join('');
  const config = Object.entries(status.config)
    .map(([k, v]) => ` ${k}=${v}`)
    .join('');
  const counts = Object.entries(status.counts)
    .map(([c, n]) => ` ${c}=${n}`)
    .join('');
  return [
    `cluster ${encodeString(status.clusterName)} scenario=${encodeString(status.scenario)}${simulatorFields ? ` seed=${status.seed}` : ''} ` +
      `time=${status.time} seq=${status.seq} controlPlaneEpoch=${status.controlPlaneEpoch}`,
    ...(simulatorFields ? [`bugs${bugs}`] : []),
    `config${config}`,
    `counts${counts}`,
    ...healthLines(status),
  ];
}

/**
 * What a cluster could read, so that a snapshot re-opened offline concludes nothing from what was
 * unknown when it was saved: per subsystem that says anything, `health <subsystem> state=… [reason=…]
 * [system=… version=… from=…]`, then `health <subsystem> collection=<c> state=<unread|unavailable>
 * [reason=…]` per collection not read. A cluster that says nothing (the simulator) gives no line.
 */
function healthLines(status: ClusterStatus): string[] {
  const lines: string[] = [];
  for (const [subsystem, h] of Object.entries(status.subsystems ?? {})) {
    if (!h) continue;
    let line = `health ${subsystem} state=${h.state}`;
    if (h.reason !== undefined) line += ` reason=${encodeString(h.reason)}`;
    if (h.version)
      line += ` system=${encodeString(h.version.system)} version=${encodeString(h.version.version)} from=${encodeString(h.version.from)}`;
    lines.push(line);
    for (const [collection, c] of Object.entries(h.collections ?? {})) {
      if (!c) continue;
      lines.push(
        `health ${subsystem} collection=${collection} state=${c.state}${c.reason !== undefined ? ` reason=${encodeString(c.reason)}` : ''}`,
      );
    }
  }
  return lines;
}

class DocumentWriter {
  readonly lines: string[] = [];
  readonly sections = new Map<string, number>();
  /**
   * Entities on their own line, as parallel arrays in document order: no
   * per-entity allocation while rendering; the key → line map is built only if
   * `lineOf` is asked, and never over summarised groups.
   */
  readonly entityKeys = new Map<string, { keys: string[]; lines: number[] }>();
  readonly groupLines = new Map<string, Map<string, number>>();

  push(line: string): number {
    this.lines.push(line);
    return this.lines.length - 1;
  }

  entitiesOf(collection: string): { keys: string[]; lines: number[] } {
    let e = this.entityKeys.get(collection);
    if (!e) this.entityKeys.set(collection, (e = { keys: [], lines: [] }));
    return e;
  }

  document(model: ClusterModel): RenderedDocument {
    const { sections, entityKeys, groupLines } = this;
    const built = new Map<string, Map<string, number>>();
    const entityLine = (collection: string, key: string) => {
      let m = built.get(collection);
      if (!m) {
        m = new Map();
        const e = entityKeys.get(collection);
        if (e) for (let i = 0; i < e.keys.length; i++) m.set(e.keys[i]!, e.lines[i]!);
        built.set(collection, m);
      }
      return m.get(key);
    };
    return {
      text: this.lines.join('\n') + '\n',
      lineCount: this.lines.length,
      sectionLine: (collection) => sections.get(collection),
      lineOf(collection, key) {
        const line = entityLine(collection, key);
        if (line !== undefined) return line;
        const groups = groupLines.get(collection);
        if (!groups || !isCollectionName(collection)) return undefined;
        // Derive the group from the entity: no map over the summarised entities.
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
  const entities = w.entitiesOf(c);
  if (!summarise || !isGrouped(c) || map.size <= GROUP_SUMMARY_THRESHOLD) {
    for (const e of map.values()) {
      entities.keys.push(e.key);
      entities.lines.push(w.push(renderEntity(layout, e)));
    }
    return;
  }
  // Two passes: count per group, then write small groups' entities and one line per huge group where it starts.
  const sizes = new Map<string, { count: number; states: Map<string, number> }>();
  const countPass = groupIterator(c);
  let s: { count: number; states: Map<string, number> } | undefined;
  let sGroup: string | undefined;
  for (const e of map.values()) {
    const g = countPass(e)!;
    if (g !== sGroup) {
      s = sizes.get(g);
      if (!s) sizes.set(g, (s = { count: 0, states: new Map() }));
      sGroup = g;
    }
    s!.count++;
    const state = stateOf(c, e);
    if (state !== undefined) increment(s!.states, state);
  }
  const groups = new Map<string, number>();
  const writePass = groupIterator(c);
  for (const e of map.values()) {
    const g = writePass(e)!;
    const s = sizes.get(g)!;
    if (s.count <= GROUP_SUMMARY_THRESHOLD) {
      entities.keys.push(e.key);
      entities.lines.push(w.push(renderEntity(layout, e)));
    } else if (!groups.has(g)) {
      const states = s.states.size ? `${describeCounts(s.states)}; ` : '';
      groups.set(
        g,
        w.push(
          `${GROUP_KIND} ${encodeString(g)} count=${s.count}  # ${states}too many to list, browse them in the ${SUBSYSTEM_TITLES[COLLECTIONS[c].subsystem]} view`,
        ),
      );
    }
  }
  w.groupLines.set(c, groups);
}

function writeSubsystem(w: DocumentWriter, model: ClusterModel, s: Subsystem, summarise: boolean): void {
  w.push('');
  w.push(`[${s}]  # ${SUBSYSTEM_TITLES[s]}`);
  for (const c of collectionsOf(s)) writeCollection(w, model, c, summarise);
}

/** Where a whole-file rendering puts sections and entities (for `renderSnapshotDocument`'s index). */
interface FileLineSink {
  section(collection: CollectionName, line: number): void;
  entity(collection: CollectionName, key: string, line: number): void;
}

/**
 * The lines of the whole `.clustersnap` file, every subsystem, every entity,
 * lossless: the one definition of the file that `renderSnapshotDocument`, the
 * string and the chunked renderers all use. A model that changes while the
 * lines are consumed gives the file as it was when this was called: a compact
 * table (`EntityTable.valuesAsOfNow`) keeps, for the reader, only the rows
 * changed before it read them; a `Map` (tests) gives its entity references
 * then (entities are replaced, never changed in place).
 */
function snapshotFileLines(model: ClusterModel, sink?: FileLineSink, extras: SnapshotExtras = {}): Generator<string> {
  const status = model.status;
  const timeline = extras.timeline && { transitions: [...extras.timeline.transitions], dropped: extras.timeline.dropped ?? 0 };
  const entities = new Map<CollectionName, { size: number; values: Iterator<AnyEntity> }>();
  for (const s of SUBSYSTEMS)
    for (const c of collectionsOf(s)) {
      const map = model.collections[c] as EntityMap<AnyEntity>;
      const values = map instanceof EntityTable ? map.valuesAsOfNow() : [...map.values()].values();
      entities.set(c, { size: map.size, values });
    }
  const lines = (function* () {
    let line = 0;
    yield `# Cluster snapshot of ${status.clusterName || 'a cluster'} at ${formatClusterTime(status.time, status)} (seq ${status.seq}).`;
    yield '# One line per entity: kind key field=value ... version=N. Open it in VS Code to run the checks offline.';
    line += 2;
    for (const h of headerLines(status)) {
      yield h;
      line++;
    }
    for (const s of SUBSYSTEMS) {
      yield '';
      yield `[${s}]  # ${SUBSYSTEM_TITLES[s]}`;
      line += 2;
      for (const c of collectionsOf(s)) {
        const layout = LAYOUTS[c];
        const { size, values } = entities.get(c)!;
        const render = lineRendererOf(layout);
        sink?.section(c, line);
        yield `[${c}]  # ${COLLECTIONS[c].component}: ${formatCount(size)} ${layout.kind} entities`;
        line++;
        for (let r = values.next(); !r.done; r = values.next()) {
          const e = r.value;
          sink?.entity(c, e.key, line);
          yield render(e);
          line++;
        }
      }
    }
    if (!timeline) return;
    yield '';
    yield `# The timeline: ${formatCount(timeline.transitions.length)} recorded state transitions, oldest first; time is the cluster's logical clock.`;
    yield `${ANNOTATION_PREFIX}${TIMELINE_KIND} transitions=${timeline.transitions.length} dropped=${timeline.dropped}`;
    for (const t of timeline.transitions) yield renderTransition(t);
  })();
  // The tables' readers stay open until the lines end or `return` is called, even before the first line is pulled.
  return closing(lines, () => {
    for (const { values } of entities.values()) values.return?.();
  });
}

/** `gen`, calling `close` once when it ends, throws, or is returned (also before it started, which a generator's own `finally` misses). */
function closing<T>(gen: Generator<T>, close: () => void): Generator<T> {
  let open = true;
  const done = () => {
    if (open) {
      open = false;
      close();
    }
  };
  const wrapped: Generator<T> = {
    next() {
      try {
        const r = gen.next();
        if (r.done) done();
        return r;
      } catch (e) {
        done();
        throw e;
      }
    },
    return(value) {
      done();
      return gen.return(value);
    },
    throw(e) {
      done();
      return gen.throw(e);
    },
    [Symbol.iterator]() {
      return wrapped;
    },
  };
  return wrapped;
}

/** Renders the whole model as a `.clustersnap` file: every subsystem, every entity, lossless. */
export function renderSnapshotDocument(model: ClusterModel, extras: SnapshotExtras = {}): RenderedDocument {
  const w = new DocumentWriter();
  const lines = snapshotFileLines(
    model,
    {
      section: (c, line) => w.sections.set(c, line),
      entity: (c, key, line) => {
        const e = w.entitiesOf(c);
        e.keys.push(key);
        e.lines.push(line);
      },
    },
    extras,
  );
  for (const line of lines) w.push(line);
  return w.document(model);
}

/** Characters per chunk of `renderSnapshotChunks` (about 64 KiB: a write stream's default high-water mark). */
export const SNAPSHOT_CHUNK_CHARS = 64 * 1024;

/**
 * The whole `.clustersnap` file as chunks of whole lines (each ends with
 * `\n`), produced as they are pulled: the concatenation is exactly
 * `renderSnapshot(model)`, and at most about one chunk of text exists at a
 * time. Feed it to a stream (`Readable.from`) to write an incident-scale
 * snapshot in bounded memory, with backpressure.
 */
export function renderSnapshotChunks(
  model: ClusterModel,
  chunkChars = SNAPSHOT_CHUNK_CHARS,
  extras: SnapshotExtras = {},
): Generator<string> {
  const lines = snapshotFileLines(model, undefined, extras);
  const chunks = (function* () {
    // Joined once per chunk: one flat string, not a chain of concatenations.
    const chunk: string[] = [];
    let chars = 0;
    for (const line of lines) {
      chunk.push(line);
      chars += line.length + 1;
      if (chars >= chunkChars) {
        chunk.push('');
        yield chunk.join('\n');
        chunk.length = 0;
        chars = 0;
      }
    }
    if (chunk.length) {
      chunk.push('');
      yield chunk.join('\n');
    }
  })();
  return closing(chunks, () => lines.return(undefined));
}

/** The whole file as one string (small models; see `renderSnapshotChunks` for large ones). */
export function renderSnapshot(model: ClusterModel, extras: SnapshotExtras = {}): string {
  let text = '';
  for (const chunk of renderSnapshotChunks(model, SNAPSHOT_CHUNK_CHARS, extras)) text += chunk;
  return text;
}

/** Renders one subsystem (the virtual document `cluster://NAME/NAME.SUBSYSTEM.clustersnap`), huge groups summarised. */
export function renderSubsystem(model: ClusterModel, subsystem: Subsystem, clusterName: string): RenderedDocument {
  const w = new DocumentWriter();
  const status = model.status;
  w.push(
    `# ${clusterDocUri(clusterName, subsystem)}: ${SUBSYSTEM_TITLES[subsystem]} of ${clusterName} at ${formatClusterTime(status.time, status)} (seq ${status.seq}), read-only.`,
  );
  w.push(`# Groups of more than ${GROUP_SUMMARY_THRESHOLD} entities are one \`group\` line with a count.`);
  // A real cluster (a gateway) has no seed and no simulated bugs: its live documents leave them out (the
  // parser's defaults stand in). A saved snapshot keeps every field, so that it reads back as it was.
  for (const line of headerLines({ ...status, clusterName }, !isWallClock(status))) w.push(line);
  writeSubsystem(w, model, subsystem, true);
  return w.document(model);
}
