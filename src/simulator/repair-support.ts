/**
 * Conditional repairs: every target names the entity version it was planned
 * from. An entity that moved on (or is gone) is refused and left untouched.
 */
import type { CollectionName, EntityOf, Expectation, RepairItemResult } from '../protocol';
import type { Store } from '../cluster/store';

export function refused(key: string, message: string): RepairItemResult {
  return { key, status: 'refused', message };
}
export function applied(key: string, message: string): RepairItemResult {
  return { key, status: 'applied', message };
}
export function unchanged(key: string, message: string): RepairItemResult {
  return { key, status: 'unchanged', message };
}

/** The entity if it is still at the expected version, else the refusal to report. */
export function expectVersion<C extends CollectionName>(
  store: Store,
  collection: C,
  target: Expectation,
  what: string,
): { entity: EntityOf<C> } | { refusal: RepairItemResult } {
  const entity = store.get(collection, target.key);
  if (!entity) {
    return { refusal: refused(target.key, `${what} ${target.key} no longer exists; nothing changed`) };
  }
  if (entity.version !== target.version) {
    return {
      refusal: refused(
        target.key,
        `${what} ${target.key} moved on (expected version ${target.version}, it is at ${entity.version}); nothing changed, re-check and plan again`,
      ),
    };
  }
  return { entity };
}

/** A repeated target in one request is answered once. */
export function dedupeTargets(targets: Expectation[]): Expectation[] {
  const seen = new Set<string>();
  return targets.filter((t) => (seen.has(t.key) ? false : (seen.add(t.key), true)));
}
