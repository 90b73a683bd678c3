/**
 * Conditional repairs: every target names the entity version it was planned
 * from. An entity that moved on (or is gone) is refused and left untouched.
 */
import { applied, dedupeTargets, refused, type CollectionName, type EntityOf, type Expectation, type RepairItemResult } from '../protocol';
import type { Store } from '../cluster/store';

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

/**
 * Undo's re-create: each entity written back from its before-image where its key is still absent;
 * a key that exists again (someone re-created it since) is refused and left as it is.
 */
export function recreate<C extends CollectionName>(
  store: Store,
  collection: C,
  targets: readonly { key: string; entity: EntityOf<C> }[],
  what: string,
): RepairItemResult[] {
  return dedupeTargets(targets).map((t) => {
    const now = store.get(collection, t.key);
    if (now)
      return refused(
        t.key,
        `${what} ${t.key} exists again (version ${now.version}): something re-created it since the repair; left as it is`,
      );
    if (t.entity.key !== t.key) return refused(t.key, `the entity to re-create is ${t.entity.key}, not ${t.key}; nothing changed`);
    const { version: _before, ...draft } = t.entity;
    const put = store.put(collection, structuredClone(draft) as never);
    return applied(t.key, `re-created as it was before the repair (its version then was ${_before})`, put.version);
  });
}
