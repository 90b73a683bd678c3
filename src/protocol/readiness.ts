/**
 * Whether a rule can be checked on what the cluster read: a cross-component finding rests only on
 * collections read successfully in their subsystem's current state, and only on a version that can
 * have the bug. A collection that is unread, unavailable or errored is unknown, never empty: the
 * rule is not run, and the views say why (`ruleNotes`).
 */
import { COLLECTIONS, type Subsystem } from './collections';
import { RULE_IDS, RULES, type RuleId } from './findings';
import type { ClusterStatus } from './methods';
import { RULE_VERSIONS } from './versions';

export type RuleReadiness =
  | { state: 'checked' }
  /** A collection it compares is not known now (or the subsystem is not read at all). */
  | { state: 'unknown'; reason: string }
  /** The version the system runs cannot have the bug. */
  | { state: 'not-applicable'; reason: string };

export function ruleReadiness(rule: RuleId, status: Pick<ClusterStatus, 'subsystems'>): RuleReadiness {
  const subsystem = RULES[rule].subsystem;
  if (subsystem === null) return { state: 'checked' };
  const health = status.subsystems?.[subsystem];
  if (health === undefined) return { state: 'checked' };
  if (health.state === 'not-configured') return { state: 'unknown', reason: 'not configured' };
  if (health.state === 'unavailable') return { state: 'unknown', reason: `unavailable${health.reason ? `: ${health.reason}` : ''}` };
  // A version that cannot have the bug says so even when a collection is not read (e.g. a route that version does not serve).
  const versions = RULE_VERSIONS[rule];
  if (health.version && versions && versions.applies(health.version.version) === false) {
    return {
      state: 'not-applicable',
      reason: `not applicable to ${health.version.system} ${health.version.version} (fixed by ${versions.fixedBy}; affected: ${versions.affected})`,
    };
  }
  for (const c of RULES[rule].reads) {
    const h = health.collections?.[c];
    if (h && h.state !== 'ok') {
      const what = `${COLLECTIONS[c].component} (${c})`;
      return {
        state: 'unknown',
        reason: `${what} ${h.state === 'unread' ? 'not read yet' : 'unavailable'}${h.reason ? `: ${h.reason}` : ''}`,
      };
    }
  }
  return { state: 'checked' };
}

/**
 * For a subsystem's view: one line per rule of it that is not checked now, e.g.
 * "shards/dangling not checked: control plane (quickwit.controlPlane.shards) unavailable: …".
 * Not-configured subsystems say so once elsewhere and give none.
 */
export function ruleNotes(subsystem: Subsystem, status: Pick<ClusterStatus, 'subsystems'>): string[] {
  if (status.subsystems?.[subsystem]?.state === 'not-configured') return [];
  const notes: string[] = [];
  for (const rule of RULE_IDS) {
    if (RULES[rule].subsystem !== subsystem) continue;
    const r = ruleReadiness(rule, status);
    if (r.state === 'unknown') notes.push(`${rule} not checked: ${r.reason}`);
    else if (r.state === 'not-applicable') notes.push(`${rule}: ${r.reason}`);
  }
  return notes;
}

/**
 * Why the cluster refuses `command` now (`SubsystemHealth.refuses`: the owner runs and would undo
 * it), or undefined when it does not.
 */
export function refusedByCluster(status: Pick<ClusterStatus, 'subsystems'>, command: string): string | undefined {
  for (const s of Object.values(status.subsystems ?? {})) {
    const reason = s?.refuses?.[command];
    if (reason !== undefined) return reason;
  }
  return undefined;
}

/** Why a repair's operations would be refused by the cluster as a whole (the first refused command's reason), or undefined. */
export function repairRefusal(status: Pick<ClusterStatus, 'subsystems'>, operations: readonly { command: string }[]): string | undefined {
  for (const op of operations) {
    const reason = refusedByCluster(status, op.command);
    if (reason !== undefined) return `refused by the gateway: ${reason}`;
  }
  return undefined;
}
