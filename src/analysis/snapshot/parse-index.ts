/**
 * Where a parsed file's entities are: their lines, kept as runs (`EntityLines`), and the
 * `DocumentIndex` made from them on first use.
 */
import { isCollectionName, type CollectionName } from '../../protocol';
import { groupIterator, groupOf } from '../grouping';
import type { ClusterModel } from '../model';
import { GROUP_SUMMARY_THRESHOLD, type DocumentIndex } from './render';

/** A `group` line: entities summarised by a count (a saved virtual document), not present in the model. */
export interface SummarisedGroup {
  collection: CollectionName;
  group: string;
  count: number;
  line: number;
}

/**
 * The lines of a section's entities, in order, as runs of consecutive lines: a section's entity
 * lines follow one another (but for a comment or a bad line), so a few numbers stand for 760k lines.
 */
export class EntityLines {
  length = 0;
  /** Per run: the index of its first entity, and that entity's line. */
  private readonly starts: number[] = [];
  private readonly firstLines: number[] = [];
  private lastLine = -2;

  add(line: number): void {
    if (line !== this.lastLine + 1) {
      this.starts.push(this.length);
      this.firstLines.push(line);
    }
    this.lastLine = line;
    this.length++;
  }

  /** The line of the `i`th entity (0 ≤ i < length). */
  at(i: number): number {
    const { starts } = this;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= i) lo = mid;
      else hi = mid - 1;
    }
    return this.firstLines[lo]! + (i - starts[lo]!);
  }
}

/**
 * lineOf for a parsed file, built on first use: exact lines for entities of
 * small groups, the first line of a group for huge ones (like the virtual
 * documents), so diagnostics for 760k shards sit on one line.
 */
export function fileIndex(
  model: ClusterModel | null,
  sections: Map<string, number>,
  positions: Map<CollectionName, EntityLines>,
  summarised: SummarisedGroup[],
): DocumentIndex {
  const built = new Map<string, { entities: Map<string, number>; groups: Map<string, number> }>();
  const indexOf = (c: CollectionName) => {
    let ix = built.get(c);
    if (ix) return ix;
    ix = { entities: new Map(), groups: new Map() };
    for (const s of summarised) if (s.collection === c && !ix.groups.has(s.group)) ix.groups.set(s.group, s.line);
    const lines = positions.get(c);
    // The model's entities are the file's, in its order (unless the model was changed since: then no entity lines).
    if (lines && model && model.collections[c].size === lines.length) {
      const map = model.collections[c];
      const sizes = new Map<string, number>();
      const groupsInOrder: (string | undefined)[] = [];
      const keys: string[] = [];
      const next = groupIterator(c);
      for (const [k, e] of map) {
        const g = next(e);
        keys.push(k);
        groupsInOrder.push(g);
        if (g !== undefined) sizes.set(g, (sizes.get(g) ?? 0) + 1);
      }
      for (let i = 0; i < keys.length; i++) {
        const g = groupsInOrder[i];
        if (g !== undefined && sizes.get(g)! > GROUP_SUMMARY_THRESHOLD) {
          if (!ix.groups.has(g)) ix.groups.set(g, lines.at(i));
        } else ix.entities.set(keys[i]!, lines.at(i));
      }
    }
    built.set(c, ix);
    return ix;
  };
  return {
    sectionLine: (collection) => sections.get(collection),
    lineOf(collection, key) {
      if (!isCollectionName(collection)) return undefined;
      const c = collection;
      const ix = indexOf(c);
      const line = ix.entities.get(key);
      if (line !== undefined) return line;
      const e = model?.collections[c].get(key);
      const g = e && groupOf(c, e);
      return g === undefined ? undefined : ix.groups.get(g);
    },
  };
}
