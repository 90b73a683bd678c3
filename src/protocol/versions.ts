/**
 * Which upstream versions can have each incident's bug, and the fix that ended it. The gateway
 * reads the version a store or API says it runs (`SubsystemHealth.version`); on a version the bug
 * cannot occur in, the rule is not run and the view says "not applicable to <system> <version>
 * (fixed by <fix>)" instead of firing or staying silent. The evidence for each entry is in
 * docs/gateway.md (per system: the versions checked and the upstream commits).
 */
import type { RuleId } from './findings';
import { SYSTEMS } from './systems';

export interface RuleVersions {
  /** The upstream project, as `SystemVersion.system` names it (its descriptor's `title`, systems.ts). */
  readonly system: string;
  /** In words, the versions in which the bug can occur: `v0.17.3 and later, before #4529`. */
  readonly affected: string;
  /** The upstream change that ended it (`#4529`), or `not fixed` while none has. */
  readonly fixedBy: string;
  /**
   * Whether `version` (`SystemVersion.version`) can have the bug: false when it cannot (the rule is
   * not run), true when it can, undefined when the version says nothing either way (the rule runs).
   */
  applies(version: string): boolean | undefined;
}

/** The rules of one upstream incident each. Rules absent here apply to every version. */
export const RULE_VERSIONS: Partial<Record<RuleId, RuleVersions>> = {
  // Quickwit: the version is the metastore's highest migration (`_sqlx_migrations`), as
  // `quickwitVersionOf` (src/codecs/quickwit.ts) names it; ingest v2 shards exist from migration 12 (v0.7.0).
  'shards/dangling': {
    system: SYSTEMS.quickwit.title,
    affected: 'v0.7.0 (12_create-shards) to v0.8.2, and main builds before 39161040c',
    fixedBy: '#5029 (39161040c, first released in v0.9.0)',
    applies: (v) => {
      const m = quickwitMigration(v);
      // 17–19: main builds from either side of #5029 (it landed between migrations 19 and 20).
      if (m !== undefined) return m < 12 ? false : m <= 16 ? true : m <= 19 ? undefined : false;
      return versionIn(v, '0.7.0', '0.9.0');
    },
  },
  'shards/orphaned': {
    system: SYSTEMS.quickwit.title,
    affected: 'v0.7.0 (12_create-shards) and later',
    fixedBy: 'not fixed (#6531 is open; #6769 proposes a periodic reset)',
    applies: (v) => {
      const m = quickwitMigration(v);
      if (m !== undefined) return m >= 12;
      return versionIn(v, '0.7.0', undefined);
    },
  },

  // Milvus (wal/close-blocked). #41307 (close waits on appends blocked on recovery) was in master
  // builds of April 2025 (master-20250410 … master-20250415) and fixed by #41326 (merged 2025-04-18),
  // before v2.6.0: no release has it. The same blocked close came back by other causes: #42498
  // (master, June 2025, closed) and #53237 (RemoveWAL on a hung object store, open on 2.6 and master,
  // fix #53239 pending), so the rule stays on for 2.6 and later. Before 2.5 there is no streaming node.
  'wal/close-blocked': {
    system: SYSTEMS.milvus.title,
    affected: '#41307 in master builds of April 2025 (no release); the blocked close recurs on v2.6 and master (#42498, #53237 open)',
    fixedBy: '#41326 for #41307; #53237 not fixed',
    applies: (version) => {
      const before25 = versionIn(version, undefined, '2.5.0');
      if (before25 === undefined) return undefined;
      return before25 ? false : versionIn(version, '2.6.0', undefined) === true ? true : undefined;
    },
  },

  // GreptimeDB: metasrv's version from its candidate key (`MetasrvNodeInfo.version`, e.g. `0.14.0`).
  'ddl/backlog': {
    system: SYSTEMS.greptime.title,
    affected: 'before v0.14.0 (v0.13 and older: nothing caps the running procedures)',
    // greptimedb #5793 (d3a60d88, first in v0.14.0): `procedure.max_running_procedures` rejects new procedures above the limit.
    fixedBy: '#5793',
    applies: (v) => versionIn(v, undefined, '0.14.0'),
  },
  // ddl/duplicate: no upstream change stops a second procedure for the same table (the lock only serializes them): every version.

  // TiKV (regions/stale-prepared): #17700's assertion ("region N is prepared for write before, but it is not the
  // current region") came with #17685 (d621ed9e4e, 2024-10-22) and was fixed by #17703 (4b5b9e5069, 2024-10-25),
  // both on master before v8.5.0-alpha; no release tag holds one without the other (checked with `git tag --contains`).
  // Those master builds report `8.4.0-alpha` (Cargo.toml); the gateway adds their git hash (`8.4.0-alpha+git.<hash>`).
  'regions/stale-prepared': {
    system: SYSTEMS.tikv.title,
    affected: 'master builds from #17685 (d621ed9e4e) to before #17703 (4b5b9e5069), October 22–25 2024, reporting 8.4.0-alpha; no release',
    fixedBy: '#17703 (in every release from v8.5.0)',
    applies: (version) => {
      const hash = /\+git\.([0-9a-f]{7,40})/i.exec(version)?.[1]?.toLowerCase();
      // `git rev-list --ancestry-path d621ed9e4e..4b5b9e5069~1` and d621ed9e4e itself.
      const buggy = ['d621ed9e4e', '4ebb3001b2', '5a703ad841', '01e7d054b6', 'a38f5fbe42', 'f0713b6070'];
      if (hash) return buggy.some((h) => hash.startsWith(h) || h.startsWith(hash));
      if (/^v?8\.4\.0-alpha/.test(version)) return undefined; // a master build of unknown commit
      return versionParts(version) === undefined ? undefined : false;
    },
  },

  // Fluvio (partitions/online-out-of-space): OutOfStorage came with #4521 (b126cdf4, 2025-05-08) and the reducer
  // stopped resetting it with #4529 (130d01a3, 2025-05-09); both are in v0.17.3-dev-1 and v0.17.3, so no release
  // has the bug. Only builds of main between the two (versioned 0.17.3-dev-1, like the fixed tag) can: that
  // version says nothing either way (the rule runs); 0.17.2 and earlier have no OutOfStorage; 0.17.3 and later are fixed.
  'partitions/online-out-of-space': {
    system: SYSTEMS.fluvio.title,
    affected:
      'main builds from #4521 (b126cdf4) to before #4529 (130d01a3), versioned 0.17.3-dev-1; no release (v0.17.2 and earlier have no OutOfStorage)',
    fixedBy: '#4529',
    applies(version) {
      if (/^\D*0\.17\.3-dev/.test(version.trim())) return undefined;
      // Any other numbered version is a release (or a build of one): without the state, or fixed.
      return versionParts(version) ? false : undefined;
    },
  },
};

/** The migration a Quickwit version text names (`… (migration 16)`), or undefined. */
function quickwitMigration(version: string): number | undefined {
  const m = /\(migration (\d+)\)/.exec(version);
  return m ? Number(m[1]) : undefined;
}

/**
 * The numeric parts of a version string (`v8.5.7` → [8, 5, 7], `0.9.0-rc.1` → [0, 9, 0]), or
 * undefined when it has none. Pre-release tags are ignored: a rule's bounds name releases.
 */
export function versionParts(version: string): number[] | undefined {
  const m = /^\D*(\d+(?:\.\d+)*)/.exec(version.trim());
  return m ? m[1].split('.').map(Number) : undefined;
}

/** `a` compared with `b` part by part (missing parts are 0): negative, 0 or positive; undefined if either has no number. */
export function compareVersions(a: string, b: string): number | undefined {
  const x = versionParts(a);
  const y = versionParts(b);
  if (!x || !y) return undefined;
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Whether `version` is in [from, to): either bound may be absent; undefined if the version has no number. */
export function versionIn(version: string, from: string | undefined, to: string | undefined): boolean | undefined {
  const lo = from === undefined ? 0 : compareVersions(version, from);
  const hi = to === undefined ? -1 : compareVersions(version, to);
  if (lo === undefined || hi === undefined) return undefined;
  return lo >= 0 && hi < 0;
}
