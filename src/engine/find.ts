/**
 * `clusterDebugger/findEntity`: a page of the entities, of one cluster or of every connected one,
 * whose key holds a query (`findEntities`), each with its tree node and document line. The cursor
 * says which cluster the previous page stopped in and where.
 */
import { z } from 'zod';
import { COLLECTIONS, CollectionName, clusterDocUri, type FindEntityResult, type FoundEntity } from '../protocol';
import { findEntities, stateOf, type FindPosition } from '../analysis';
import type { WorkspaceCluster } from './cluster';
import { entityTreeId } from './tree';

/** No `collection`: the cluster's first page. */
const Cursor = z.object({ cluster: z.string(), collection: CollectionName.optional(), offset: z.number().int().nonnegative() });
type Cursor = z.infer<typeof Cursor>;

/** Thrown for a cursor this server did not make (the workspace reports it as bad params). */
export class BadCursorError extends Error {}

export function findEntityPage(
  clusters: readonly WorkspaceCluster[],
  query: string,
  limit: number,
  cursor?: string | null,
): FindEntityResult {
  let from: Cursor | undefined;
  if (cursor) {
    let raw: unknown;
    try {
      raw = JSON.parse(cursor);
    } catch {
      raw = undefined;
    }
    const parsed = Cursor.safeParse(raw);
    if (!parsed.success) throw new BadCursorError(`findEntity: not a cursor of this server: ${cursor.slice(0, 100)}`);
    from = parsed.data;
  }
  const start = from ? clusters.findIndex((c) => c.name === from.cluster) : 0;
  // The cluster the cursor names has gone: nothing more to read from it.
  if (start < 0) return { entities: [], cursor: null };
  const entities: FoundEntity[] = [];
  for (let i = start; i < clusters.length; i++) {
    const c = clusters[i];
    const model = c.session.model;
    if (!model) continue;
    const position: FindPosition | undefined =
      from?.collection && i === start ? { collection: from.collection, offset: from.offset } : undefined;
    const page = findEntities(model, query, limit - entities.length, position);
    for (const m of page.matches) {
      const subsystem = COLLECTIONS[m.collection].subsystem;
      const line = c.checker.document(model, subsystem).lineOf(m.collection, m.key);
      const treeId = entityTreeId(c.name, model, m.collection, m.key);
      const findings = (c.checker.findingsOfKey(m.key) ?? []).map((id) => c.checker.finding(id)).filter((f) => f !== undefined);
      const severity = findings.some((f) => f.severity === 'error')
        ? 'error'
        : findings.some((f) => f.severity === 'warning')
          ? 'warning'
          : findings.length
            ? 'info'
            : undefined;
      const entity = model.collections[m.collection].get(m.key);
      const state = entity ? stateOf(m.collection, entity) : undefined;
      entities.push({
        cluster: c.name,
        collection: m.collection,
        key: m.key,
        subsystem,
        ...(treeId === undefined ? {} : { treeId }),
        ...(line === undefined ? {} : { location: { uri: clusterDocUri(c.name, subsystem), line } }),
        ...(state === undefined ? {} : { state }),
        problems: findings.length,
        ...(severity ? { severity } : {}),
      });
    }
    if (page.next) return { entities, cursor: JSON.stringify({ cluster: c.name, ...page.next } satisfies Cursor) };
    if (entities.length >= limit && i + 1 < clusters.length) {
      return { entities, cursor: JSON.stringify({ cluster: clusters[i + 1].name, offset: 0 } satisfies Cursor) };
    }
  }
  return { entities, cursor: null };
}
