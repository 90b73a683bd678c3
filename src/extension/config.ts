/** The `clusterDebugger.*` settings, read in one place. */
import { isAbsolute, join } from 'node:path';
import { Uri, workspace } from 'vscode';
import { CONFIG_DEFAULTS, CONFIG_SECTION, DEFAULT_SCENARIO, isScenario, MAX_TIMELINE_TRANSITIONS, sameCluster } from '../protocol/config';
import type { ScenarioName } from '../protocol/methods';
import { defaultProtection, PROTECTION_LEVELS, type ProtectionLevel } from '../protocol/preview';

export { CONFIG_SECTION };

export interface ConfiguredCluster {
  name: string;
  /** Absent: the entry only sets the protection of a cluster connected otherwise (the bundled simulator's `sim`). */
  url?: string;
  protection?: ProtectionLevel;
}

function config() {
  return workspace.getConfiguration(CONFIG_SECTION);
}

export function rulesSetting(): Record<string, string> {
  return config().get<Record<string, string>>('rules') ?? {};
}

/** `clusterDebugger.timeline.maxTransitions`, or undefined when not an integer in range (the server keeps its default). */
export function timelineSetting(): number | undefined {
  const v = config().get<number>('timeline.maxTransitions');
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_TIMELINE_TRANSITIONS ? v : undefined;
}

/**
 * Whether Repair All Safe asks before it runs on a cluster of `protection`: always, unless
 * `clusterDebugger.repairAllSafe.confirm` is `exceptProtectionNone` and the cluster's level is `none`.
 */
export function confirmRepairAllSafe(protection: ProtectionLevel): boolean {
  return !(config().get<string>('repairAllSafe.confirm') === 'exceptProtectionNone' && protection === 'none');
}

/** `clusterDebugger.notifyNewErrors`: a notification when a new error-level finding appears after a cluster's first sync. */
export function notifyNewErrorsSetting(): boolean {
  const v = config().get<boolean>('notifyNewErrors');
  return typeof v === 'boolean' ? v : CONFIG_DEFAULTS.notifyNewErrors;
}

/** The notice's Don't Show Again: `clusterDebugger.notifyNewErrors` off in the user's settings (`true`: the global target). */
export function muteNewErrorNotices(): Thenable<void> {
  return config().update('notifyNewErrors', false, true);
}

const isLevel = (v: unknown): v is ProtectionLevel => (PROTECTION_LEVELS as readonly unknown[]).includes(v);

/** Entries that are not `{name, url?, protection?}` are skipped (and reported by the caller), never thrown on. */
export function clustersSetting(): { clusters: ConfiguredCluster[]; invalid: number } {
  const raw = config().get<unknown[]>('clusters') ?? [];
  const clusters: ConfiguredCluster[] = [];
  let invalid = 0;
  for (const c of Array.isArray(raw) ? raw : []) {
    const o = c as Record<string, unknown> | null;
    const ok =
      o &&
      typeof o.name === 'string' &&
      (o.url === undefined || typeof o.url === 'string') &&
      (o.protection === undefined || isLevel(o.protection));
    if (ok)
      clusters.push({ name: o.name as string, url: o.url as string | undefined, protection: o.protection as ProtectionLevel | undefined });
    else invalid++;
  }
  return { clusters, invalid };
}

/** A cluster's protection level: its entry's in `clusterDebugger.clusters`, else `none` for the bundled simulator and `confirm` for any other. */
export function protectionSetting(name: string, bundled: boolean): ProtectionLevel {
  return clustersSetting().clusters.find((c) => sameCluster(c.name, name))?.protection ?? defaultProtection(bundled);
}

export function simulatorSettings(): { autoStart: boolean; scenario: ScenarioName; seed: number | undefined } {
  const c = config();
  const scenario = c.get<string>('simulator.defaultScenario') ?? DEFAULT_SCENARIO;
  const seed = c.get<number | null>('simulator.seed');
  return {
    autoStart: c.get<boolean>('simulator.autoStart') ?? false,
    scenario: isScenario(scenario) ? scenario : DEFAULT_SCENARIO,
    seed: typeof seed === 'number' && Number.isInteger(seed) ? seed : undefined,
  };
}

/** The journal file name in the workspace's storage folder (the setting's default). */
export const DEFAULT_JOURNAL_FILE = 'repair-journal.jsonl';

/**
 * The repair journal's absolute path from `clusterDebugger.repairJournal`: empty → the workspace's own
 * storage folder (`storage`, else the extension's global one); relative → from the first workspace
 * folder; `off` → null (no journal, no undo).
 */
export function journalPath(storage: Uri): string | null {
  const raw = (config().get<string>('repairJournal') ?? '').trim();
  if (raw === 'off') return null;
  if (raw === '') return join(storage.fsPath, DEFAULT_JOURNAL_FILE);
  if (isAbsolute(raw)) return raw;
  const folder = workspace.workspaceFolders?.[0]?.uri.fsPath;
  return folder ? join(folder, raw) : join(storage.fsPath, raw);
}
