/**
 * The server's settings (`clusterDebugger.rules`, `clusterDebugger.timeline.maxTransitions`), from
 * the `initialize` options and from `workspace/didChangeConfiguration`: each is checked, and one that
 * does not parse is ignored, said in the log.
 */
import { z } from 'zod';
import { MAX_TIMELINE_TRANSITIONS, describeZodError } from '../protocol';
import type { RuleSettings, ServerState } from './state';

const RuleSettingsSchema = z.record(z.string(), z.enum(['error', 'warning', 'info', 'off']));
const MaxTransitionsSchema = z.number().int().nonnegative().max(MAX_TIMELINE_TRANSITIONS);

/** The `clusterDebugger` section, as the client sends it (unchecked). */
export interface SettingsSection {
  rules?: unknown;
  timeline?: { maxTransitions?: unknown };
}

/** `clusterDebugger.timeline.maxTransitions`, or null when absent or invalid (said in the log). */
export function parseMaxTransitions(state: ServerState, raw: unknown): number | null {
  if (raw === undefined || raw === null) return null;
  const parsed = MaxTransitionsSchema.safeParse(raw);
  if (parsed.success) return parsed.data;
  state.warn(`ignoring clusterDebugger.timeline.maxTransitions: ${describeZodError(parsed.error)}`);
  return null;
}

/** `clusterDebugger.rules`, or null when absent or invalid (said in the log). */
export function parseRules(state: ServerState, raw: unknown): RuleSettings | null {
  if (raw === undefined || raw === null) return null;
  const parsed = RuleSettingsSchema.safeParse(raw);
  if (!parsed.success) {
    state.warn(`ignoring clusterDebugger.rules: ${describeZodError(parsed.error)}`);
    return null;
  }
  return parsed.data as RuleSettings;
}
