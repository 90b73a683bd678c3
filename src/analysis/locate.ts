/**
 * Where a finding and each of its facts are in the rendered documents: a live cluster's one
 * virtual document per subsystem, or a snapshot file that holds them all. The editor's
 * diagnostics and hovers and `cluster-check`'s reports all point there through these.
 */
import { COLLECTIONS, type CollectionName, type Fact, type Finding, type Subsystem } from '../protocol';
import type { DocumentIndex } from './snapshot/render';

/** A document and a 0-based line in it. */
export interface DocumentLocation {
  uri: string;
  line: number;
}

/** The document a subsystem's entities are in, or undefined when there is none to point into. */
export type DocumentsOf = (subsystem: Subsystem) => { uri: string; index: DocumentIndex } | undefined;

/** No document to point into: a cluster whose first sync has not ended (its provisional findings sit on line 0). */
export const NO_DOCUMENTS: DocumentsOf = () => undefined;

/** The line of an entity (or of the group line that stands for it), else its collection's section header. */
export function lineIn(index: DocumentIndex, collection: CollectionName, key: string | undefined): number | undefined {
  return (key === undefined ? undefined : index.lineOf(collection, key)) ?? index.sectionLine(collection);
}

/** Where the finding's diagnostic sits: its anchor's line in its subsystem's document. */
export function locateFinding(f: Finding, documents: DocumentsOf): DocumentLocation | undefined {
  const doc = documents(f.subsystem);
  const line = doc && lineIn(doc.index, f.anchor.collection, f.anchor.key);
  return line === undefined ? undefined : { uri: doc!.uri, line };
}

/** Where a fact's subject is: its entity's line, its group's line, or its collection's section, in its own subsystem's document. */
export function locateFact(fact: Fact, documents: DocumentsOf): DocumentLocation | undefined {
  const { collection, key } = fact.subject;
  const doc = documents(COLLECTIONS[collection].subsystem);
  const line = doc && lineIn(doc.index, collection, key);
  return line === undefined ? undefined : { uri: doc!.uri, line };
}
