/**
 * Names and defaults that the extension, the language server and the CLI
 * must agree on, defined once. `package.json` repeats the settings' defaults
 * (VS Code reads them from there); a unit test keeps the two equal.
 */
import { SCENARIOS, type ScenarioName } from './methods';
import type { ProtectionLevel } from './preview';
import { stripJsonComments } from './jsonc';

/** The settings section: `clusterDebugger.*`. */
export const CONFIG_SECTION = 'clusterDebugger';

/** The name the bundled simulator's cluster is connected under. */
export const BUNDLED_CLUSTER = 'sim';

/** What a cluster's name may be: it is a URI authority (`cluster://NAME/...`) and a tree label. */
export const CLUSTER_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * Cluster names are case-insensitive everywhere: VS Code lower-cases a URI's
 * authority, so `Prod` and `prod` would share documents. Compare and index
 * names by this key; show them as the user typed them.
 */
export function clusterKey(name: string): string {
  return name.toLowerCase();
}

export function sameCluster(a: string, b: string): boolean {
  return clusterKey(a) === clusterKey(b);
}

export const DEFAULT_SCENARIO: ScenarioName = 'incident-all';

/** The defaults of the `clusterDebugger.*` settings, as `package.json` declares them. */
export const CONFIG_DEFAULTS = {
  clusters: [] as { name: string; url?: string; protection?: ProtectionLevel }[],
  'simulator.autoStart': false,
  'simulator.defaultScenario': DEFAULT_SCENARIO,
  'simulator.seed': null as number | null,
  rules: {} as Record<string, string>,
  /** A notification when a new error-level finding appears on a connected cluster after its first sync. */
  notifyNewErrors: true,
  'trace.server': 'off',
  /** The repair journal: '' = the workspace's storage folder, a path (relative: to the workspace folder), or 'off'. */
  repairJournal: '',
  /** How many state transitions the language server keeps per cluster (the oldest go first); 0 records none. */
  'timeline.maxTransitions': 10_000,
  /** Whether the editor's Repair All Safe asks first, with the counts: `always`, or `exceptProtectionNone` (not for clusters whose protection is `none`). */
  'repairAllSafe.confirm': 'always' as 'always' | 'exceptProtectionNone',
} as const;

/** The most `clusterDebugger.timeline.maxTransitions` may be (about 200 bytes each). */
export const MAX_TIMELINE_TRANSITIONS = 1_000_000;

export function isScenario(name: string): name is ScenarioName {
  return (SCENARIOS as readonly string[]).includes(name);
}

/** The `clusterName` a gateway config file (JSON with comments) sets, or undefined (none, or unreadable: the gateway itself reports that). The editor connects it under that name. */
export function configuredClusterName(text: string): string | undefined {
  try {
    const name = (JSON.parse(stripJsonComments(text)) as { clusterName?: unknown } | null)?.clusterName;
    return typeof name === 'string' && name.length > 0 ? name : undefined;
  } catch {
    return undefined;
  }
}
