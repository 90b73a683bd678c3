/**
 * What the cluster side of a repair shares with the engine's preview of it: the per-item results,
 * a request's repeated targets answered once, field equality as the store applies a patch, and
 * Quickwit's positions as numbers. The simulator, the store and the preview each use these, so a
 * preview runs a command exactly as the cluster does.
 */
import type { RepairItemResult } from './methods';

export function refused(key: string, message: string): RepairItemResult {
  return { key, status: 'refused', message };
}
/** `version`: the entity's version after the change (an undo of it expects that version). */
export function applied(key: string, message: string, version?: number): RepairItemResult {
  return version === undefined ? { key, status: 'applied', message } : { key, status: 'applied', message, version };
}
export function unchanged(key: string, message: string): RepairItemResult {
  return { key, status: 'unchanged', message };
}

/** A repeated target in one request is answered once. */
export function dedupeTargets<T extends { key: string }>(targets: readonly T[]): T[] {
  const seen = new Set<string>();
  return targets.filter((t) => (seen.has(t.key) ? false : (seen.add(t.key), true)));
}

/** Whether two field values are equal, structurally and strictly: a patch that changes none bumps no version. */
export function sameFieldValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => sameFieldValue(x, b[i]));
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => sameFieldValue((a as never)[k], (b as never)[k]));
  }
  return false;
}

/** A Quickwit replication or publish position as a number: `""` is before everything, `~eof` after. */
export function positionOffset(pos: string): number {
  return pos === '' ? -1 : pos === '~eof' ? Number.MAX_SAFE_INTEGER : Number(pos.slice(1));
}
