/**
 * Parsing the snapshot language. Never throws: every problem becomes a
 * `SnapshotSyntaxError` with a 0-based line and column, the line is skipped,
 * and parsing goes on, so a corrupt file still yields what it could.
 *
 * Built for 763k-line files: one scan per line with reused token buffers,
 * values converted by the field's declared type (no per-entity zod pass; json
 * fields, which are rare, are validated by their zod schema). The jobs are in
 * files of their own: the fast path for entity lines (`parse-fast.ts`), the
 * general path (`parse-tokens.ts`), the header lines (`parse-header.ts`) and
 * the entities' lines (`parse-index.ts`); this file reads the lines and puts
 * the model together.
 */
import { errorText, isCollectionName, SUBSYSTEMS, Transition, type AnyEntity, type CollectionName } from '../../protocol';
import { emptyCollections, type ClusterModel, type EntityMap } from '../model';
import { EntityTable } from '../table';
import { ANNOTATION_PREFIX, GROUP_KIND, HEADER_KINDS, LAYOUTS, TIMELINE_KIND, TRANSITION_KIND, type CollectionLayout } from './layout';
import { fastEntity, fastState, KEY_AT, type FastState } from './parse-fast';
import { finishStatus, readHeader, SUBSYSTEM_NAMES, type Report, type StatusDraft } from './parse-header';
import { EntityLines, fileIndex, type SummarisedGroup } from './parse-index';
import type { DocumentIndex } from './render';
import { buildEntity, detach, intField, LineError, tokenize, Tokens } from './parse-tokens';

export type { SummarisedGroup } from './parse-index';

export interface SnapshotSyntaxError {
  /** 0-based. */
  line: number;
  /** 0-based. */
  column: number;
  message: string;
}

export interface ParsedSnapshot {
  model: ClusterModel | null;
  errors: SnapshotSyntaxError[];
  summarised: SummarisedGroup[];
  /** Lines of the parsed file's entities and sections, for diagnostics on the file itself. */
  index: DocumentIndex;
  /** The file's timeline (`#@ transition` lines), oldest first; empty for a file without one. */
  timeline: Transition[];
  /** How many older transitions the recorder had dropped before the file was written (`#@ timeline dropped=N`). */
  timelineDropped: number;
}

/** Stop collecting errors past this many: a binary file should not produce a million diagnostics. */
export const MAX_SYNTAX_ERRORS = 200;
const KIND_WORDS = new Set(Object.values(LAYOUTS).map((l) => l.kind));

/** Parses a `.clustersnap` file. Never throws: errors are returned, with whatever could be parsed. */
export function parseSnapshotDocument(text: string): ParsedSnapshot {
  return parseSnapshotWith(text, { fastPath: true }).parsed;
}

/**
 * How to parse; not part of the `analysis` API. The fast path is an
 * optimisation that must give what the general path gives: the property test
 * parses with and without it and compares.
 */
export interface ParseOptions {
  /** Try the fast path for entity lines before the general path. */
  fastPath: boolean;
}

/** `parseSnapshotDocument` with options, and how many entity lines the fast path read. */
export function parseSnapshotWith(text: string, options: ParseOptions): { parsed: ParsedSnapshot; fastLines: number } {
  const parser = new SnapshotParser(options);
  // The lines are what `text.split('\n')` gives, the last one too (empty after a final newline).
  const n = typeof text === 'string' ? text.length : 0;
  let start = 0;
  while (start <= n) {
    let end = n > 0 ? text.indexOf('\n', start) : -1;
    if (end < 0) end = n;
    if (n > 0) parser.lineIn(text, start, end);
    else parser.line('');
    start = end + 1;
  }
  return { parsed: parser.finish(), fastLines: parser.fastLines };
}

/**
 * Parses a `.clustersnap` file from a stream of chunks (strings, or UTF-8
 * bytes split anywhere, even inside a character): line by line, so the text
 * is never whole in memory. Gives exactly what `parseSnapshotDocument` gives
 * for the concatenated text. Rejects only if the stream itself fails.
 */
export async function parseSnapshotStream(
  chunks: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>,
  options: ParseOptions = { fastPath: true },
): Promise<ParsedSnapshot> {
  const parser = new SnapshotParser(options);
  const decoder = new TextDecoder('utf-8');
  let rest = '';
  const feed = (text: string) => {
    let start = 0;
    for (;;) {
      const end = text.indexOf('\n', start);
      if (end < 0) break;
      // The first line of a chunk may have begun in the previous one.
      if (start === 0 && rest) parser.line(rest + text.slice(0, end));
      else parser.lineIn(text, start, end);
      if (start === 0) rest = '';
      start = end + 1;
    }
    rest = start === 0 ? rest + text : text.slice(start);
  };
  for await (const chunk of chunks) {
    if (typeof chunk === 'string') feed(chunk);
    else for (let i = 0; i < chunk.length; i += 65536) feed(decoder.decode(chunk.subarray(i, i + 65536), { stream: true }));
  }
  feed(decoder.decode());
  parser.line(rest);
  return parser.finish();
}

/**
 * The parser, fed one line at a time (without its `\n`); `finish` gives the
 * result. `parseSnapshotWith` and `parseSnapshotStream` are both built on it,
 * so a file parses the same whichever way it is read.
 */
export class SnapshotParser {
  fastLines = 0;
  private readonly fastPath: boolean;
  private readonly errors: SnapshotSyntaxError[] = [];
  private readonly collections = emptyCollections();
  private readonly status: StatusDraft = { bugs: {}, config: {}, counts: {}, health: {}, line: 0 };
  private headerSeen = false;
  private anything = false;
  private readonly sections = new Map<string, number>();
  private readonly summarised: SummarisedGroup[] = [];
  /**
   * Per collection, the lines of its entities in file order, which is the order of its entities in
   * the model (each is added once, from its collection's one section): the keys are the model's,
   * not kept twice. Turned into an index only if lineOf is asked.
   */
  private readonly positions = new Map<CollectionName, EntityLines>();
  private readonly transitions: Transition[] = [];
  private timelineDropped = 0;
  private current: CollectionLayout | undefined;
  private currentPositions: EntityLines | undefined;
  /** The fast path's state for the current section. */
  private fast: FastState | undefined;
  /** The current section's collection. */
  private currentMap: EntityMap<AnyEntity> | undefined;
  private readonly t = new Tokens();
  private lineNo = 0;
  private readonly report: Report = (line, column, message) => {
    const errors = this.errors;
    // A message quoting the line would keep its text alive: copied out.
    if (errors.length < MAX_SYNTAX_ERRORS) errors.push({ line, column, message: detach(message) });
    else if (errors.length === MAX_SYNTAX_ERRORS) {
      errors.push({ line, column: 0, message: `more than ${MAX_SYNTAX_ERRORS} errors; the rest are not reported` });
    }
  };

  constructor(options: ParseOptions = { fastPath: true }) {
    this.fastPath = options.fastPath;
  }

  /** The next line of the file, without its `\n` (a `\r` before it is allowed). */
  line(line: string): void {
    this.lineIn(line, 0, line.length);
  }

  /**
   * The next line, `text[start…end)` (the `\n` at `end`, if any, not included): as `line(text.slice(start, end))`,
   * but a line the fast path takes is read in place, never cut out of the text.
   */
  lineIn(text: string, start: number, end: number): void {
    const current = this.current;
    if (this.fastPath && current) {
      const kindEnd = start + current.kind.length;
      if (kindEnd < end && text.charCodeAt(kindEnd) === 32 && text.startsWith(current.kind, start)) {
        // Never throws out of here: a line the fast path cannot take goes to the general path, which reports it.
        let key: string | undefined;
        const fast = this.fast!;
        try {
          key = fastEntity(text, kindEnd + 1, end, current, fast);
        } catch {
          key = undefined;
        }
        if (key !== undefined && this.add(key, fast)) {
          this.anything = true;
          this.currentPositions!.add(this.lineNo++);
          this.fastLines++;
          return;
        }
      }
    }
    this.general(start === 0 && end === text.length ? text : text.slice(start, end));
  }

  /**
   * The fast path's entity under `key` (values in `fast`) added to the section's collection: as a
   * row straight into an `EntityTable`, without an entity object in between. False if the key is
   * there already (the general path reports it).
   */
  private add(key: string, fast: FastState): boolean {
    const map = this.currentMap!;
    if (map instanceof EntityTable && fast.names) {
      const { order, row, values } = fast;
      for (let i = 0; i < order.length; i++) {
        const at = order[i]!;
        row[i] = at >= 0 ? values[at] : at === KEY_AT ? key : fast.version;
      }
      return map.appendRow((this.currentShape ??= map.shapeFor(fast.names)), key, row, detach, fast.keyMatches, fast.hash);
    }
    if (map.has(key)) return false;
    const own = detach(key);
    map.set(own, fast.make(own, fast.values, fast.version));
    return true;
  }

  /** The current section's `EntityTable.shapeFor` its entities (made on its first entity). */
  private currentShape: number | undefined;

  /** A line the fast path did not take. */
  private general(line: string): void {
    if (line.startsWith(ANNOTATION_PREFIX)) {
      this.annotation(line.slice(ANNOTATION_PREFIX.length), this.lineNo++);
      return;
    }
    const lineNo = this.lineNo++;
    const current = this.current;
    const t = this.t;
    try {
      tokenize(line, t);
      if (t.section !== undefined) {
        this.anything = true;
        if (isCollectionName(t.section)) {
          // The registry's own name, not the line's text (kept as a Map key, a slice would keep the text alive).
          const c = LAYOUTS[t.section].collection;
          if (this.sections.has(c)) throw new LineError(1, `section [${c}] appears twice`);
          this.sections.set(c, lineNo);
          this.current = LAYOUTS[c];
          this.fast = fastState(this.current);
          this.currentMap = this.collections[c] as EntityMap<AnyEntity>;
          this.currentShape = undefined;
          // The entities the header counts (a hint: the table grows to it once 1/32 of it is read).
          const expected = this.status.counts[c];
          if (this.currentMap instanceof EntityTable && typeof expected === 'number') this.currentMap.reserve(expected);
          if (!this.positions.has(c)) this.positions.set(c, new EntityLines());
          this.currentPositions = this.positions.get(c);
        } else if (SUBSYSTEM_NAMES.has(t.section)) {
          this.current = undefined;
          this.currentPositions = undefined;
        } else {
          throw new LineError(1, `unknown section [${t.section}]; expected a subsystem (${SUBSYSTEMS.join(', ')}) or a collection`);
        }
      } else if (t.kind) {
        this.anything = true;
        if (current && t.kind === current.kind) {
          const e = buildEntity(current, t);
          const map = this.collections[current.collection] as Map<string, AnyEntity>;
          if (map.has(e.key)) throw new LineError(t.keyColumn, `duplicate key ${e.key} in [${current.collection}]`);
          map.set(e.key, e);
          this.currentPositions!.add(lineNo);
        } else if (t.kind === GROUP_KIND) {
          if (!current) throw new LineError(t.kindColumn, '`group` outside a [collection] section');
          if (t.key === undefined) throw new LineError(t.kindColumn, 'missing the group name after `group`');
          const i = t.names.indexOf('count');
          if (i < 0) throw new LineError(t.kindColumn, 'a group line needs count=N');
          const count = intField('count', t.values[i]!, t.quoted[i]!, t.columns[i]!);
          this.summarised.push({ collection: current.collection, group: detach(t.key), count, line: lineNo });
        } else if ((HEADER_KINDS as readonly string[]).includes(t.kind)) {
          if (t.kind === 'cluster') {
            if (this.headerSeen) throw new LineError(t.kindColumn, 'a second `cluster` header line');
            this.headerSeen = true;
            this.status.line = lineNo;
          }
          readHeader(t, this.status);
        } else if (current) {
          throw new LineError(t.kindColumn, `expected \`${current.kind}\` lines in [${current.collection}]; found \`${t.kind}\``);
        } else if (KIND_WORDS.has(t.kind)) {
          throw new LineError(t.kindColumn, `\`${t.kind}\` before any [collection] section header`);
        } else {
          throw new LineError(t.kindColumn, `unknown line kind \`${t.kind}\``);
        }
      }
    } catch (err) {
      if (err instanceof LineError) this.report(lineNo, err.column, err.message);
      else this.report(lineNo, 0, `cannot read this line: ${errorText(err)}`);
    }
  }

  /**
   * A `#@ ` line (its text after the prefix): the timeline's. A kind this reader does not know is
   * skipped, as an older reader skips them all, so that a newer file still reads.
   */
  private annotation(text: string, lineNo: number): void {
    const t = this.t;
    try {
      tokenize(text, t);
      const col = (c: number) => c + ANNOTATION_PREFIX.length;
      const field = (name: string) => {
        const i = t.names.indexOf(name);
        return i < 0 ? undefined : { raw: t.values[i]!, quoted: t.quoted[i]!, column: col(t.columns[i]!) };
      };
      const int = (name: string) => {
        const f = field(name);
        if (!f) throw new LineError(col(t.kindColumn), `a ${t.kind} line needs ${name}=`);
        return intField(name, f.raw, f.quoted, f.column);
      };
      if (t.kind === TIMELINE_KIND) {
        this.timelineDropped = field('dropped') ? int('dropped') : 0;
      } else if (t.kind === TRANSITION_KIND) {
        if (t.key === undefined) throw new LineError(col(t.kindColumn), 'missing the entity key after `transition`');
        const collection = field('collection')?.raw;
        const from = field('from');
        const to = field('to');
        const parsed = Transition.safeParse({
          seq: int('seq'),
          time: int('time'),
          collection,
          key: detach(t.key),
          from: from ? detach(from.raw) : null,
          to: to ? detach(to.raw) : null,
        });
        if (!parsed.success)
          throw new LineError(
            col(t.kindColumn),
            `transition: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
          );
        this.transitions.push(parsed.data);
      }
    } catch (err) {
      if (err instanceof LineError) this.report(lineNo, err.column, err.message);
      else this.report(lineNo, 0, `cannot read this line: ${errorText(err)}`);
    }
  }

  /** The result, once every line was given. */
  finish(): ParsedSnapshot {
    const { anything, headerSeen, collections, errors, sections, positions, summarised } = this;
    const model: ClusterModel | null =
      anything || headerSeen ? { status: finishStatus(this.status, headerSeen, collections, this.report), collections } : null;
    if (!model) this.report(0, 0, 'not a cluster snapshot: no header, section or entity line');
    return {
      model,
      errors,
      summarised,
      index: fileIndex(model, sections, positions, summarised),
      timeline: this.transitions,
      timelineDropped: this.timelineDropped,
    };
  }
}

export function parseSnapshot(text: string): { model: ClusterModel | null; errors: SnapshotSyntaxError[] } {
  return parseSnapshotDocument(text);
}
