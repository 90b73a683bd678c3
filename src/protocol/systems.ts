/**
 * The systems the debugger models, one descriptor each: the map of where a system lives. Each
 * system is read into one subsystem (one tree view, one virtual document) and its collections;
 * everything else about it is in the files its descriptor names (`files`), each checked to exist
 * by test/unit/systems.test.ts. docs/adding-a-system.md walks through adding one, file by file.
 *
 * A leaf of src/protocol: collections.ts (schemas, keys), findings.ts (rules), versions.ts
 * (affected versions) and topology.ts build on it, never the other way round.
 */
import { z } from 'zod';

// ---------------------------------------------------------- collections --
// Every collection's name, declared once (`as const`: a literal that stays one in an object literal). The registry (`COLLECTIONS`, collections.ts) gives each
// its schema and key format; code that names one imports the constant.

/** Quickwit: the metastore's shards (PostgreSQL `shards`). */
export const METASTORE = 'quickwit.metastore.shards' as const;
/** Quickwit: the control plane's model of the shards. */
export const CONTROL_PLANE = 'quickwit.controlPlane.shards' as const;
/** Quickwit: the shards each ingester holds. */
export const INGESTER = 'quickwit.ingester.shards' as const;
/** Quickwit: cluster membership (the ingesters). */
export const INGESTERS = 'quickwit.ingesters' as const;
/** Milvus: the streaming nodes, as Kubernetes and the sessions see them. */
export const STREAMING_NODES = 'milvus.nodes' as const;
/** Milvus: each streaming node's WALs. */
export const WALS = 'milvus.wals' as const;
/** Milvus: appends in flight on a WAL (the node's memory: only the simulator holds them). */
export const APPENDS = 'milvus.appends' as const;
/** Milvus: the streaming coordinator's pchannel assignments. */
export const CHANNEL_METAS = 'milvus.channelMetas' as const;
/** GreptimeDB: metasrv's DDL procedures. */
export const PROCEDURES = 'greptime.procedures' as const;
/** GreptimeDB: the sizes of metasrv's etcd prefixes. */
export const ETCD = 'greptime.etcd' as const;
/** TiKV: each store's in-memory engine's cached regions. */
export const REGIONS = 'tikv.regions' as const;
/** TiKV: each store's current write batch. */
export const WRITE_BATCHES = 'tikv.writeBatches' as const;
/** Fluvio: the SC's partitions. */
export const PARTITIONS = 'fluvio.partitions' as const;
/** Fluvio: what each SPU reports of its replicas. */
export const SPU_REPORTS = 'fluvio.spuReports' as const;
/** Fluvio: the SPUs. */
export const SPUS = 'fluvio.spus' as const;

// ------------------------------------------------------------- systems --

/** The subsystems, one per system, in the order of the views. */
export const SUBSYSTEMS = ['shards', 'wal', 'ddl', 'regions', 'partitions'] as const;
export const Subsystem = z.enum(SUBSYSTEMS);
export type Subsystem = z.infer<typeof Subsystem>;

/** The systems, in the order of the views (and of the topology). Also the gateway config's sections. */
export const SYSTEM_IDS = ['quickwit', 'milvus', 'greptime', 'tikv', 'fluvio'] as const;
export type SystemId = (typeof SYSTEM_IDS)[number];

export interface SystemDescriptor<S extends Subsystem = Subsystem> {
  readonly id: SystemId;
  /** The upstream project's name, as users and `SystemVersion.system` spell it. */
  readonly title: string;
  /** The one subsystem it is read into: its view, its document, its rules' prefix (`shards/…`). */
  readonly subsystem: S;
  /** The view's title (`SUBSYSTEM_TITLES`). */
  readonly subsystemTitle: string;
  /** Its collections (their schemas and key formats: `COLLECTIONS` and `COLLECTION_KEYS` in collections.ts). */
  readonly collections: readonly string[];
  /** Its tree view: the layout's file, and the levels it groups by, from the cluster's root down. */
  readonly tree: { readonly layout: string; readonly levels: readonly string[] };
  readonly upstream: {
    /** The upstream repository. */
    readonly repo: string;
    /**
     * Where the gateway reads the version it runs (`SubsystemHealth.version`). The versions each of
     * its rules applies to are in `RULE_VERSIONS` (src/protocol/versions.ts), keyed by rule id.
     */
    readonly version: string;
    /** Its recorded upstream data and protos, with their README and LICENSE. */
    readonly fixtures: string;
  };
  /** The files that make up the system, beyond the shared ones (entities.ts, collections.ts, findings.ts, versions.ts). */
  readonly files: {
    /** Its checks (`RULES` entries with this subsystem). */
    readonly checks: string;
    /** Decoders of its store's records (pure: no I/O). */
    readonly codec: string;
    /** The gateway's source: reads the store, mirrors it, runs conditional repairs. */
    readonly source: string;
    /** The simulator's module: its entities, the incident's bug and the repairs. */
    readonly simulator: string;
    /** The simulator's stand-in for the store the gateway reads (`--mirror`/`--http`). */
    readonly mirror: string;
    /** Its section of the gateway's documentation. */
    readonly docs: string;
  };
}

/** One descriptor per system, keyed by id. */
export const SYSTEMS = {
  quickwit: {
    id: 'quickwit',
    title: 'Quickwit',
    subsystem: 'shards',
    subsystemTitle: 'Shards',
    collections: [METASTORE, CONTROL_PLANE, INGESTER, INGESTERS],
    tree: { layout: 'src/engine/tree/shards.ts', levels: ['index', 'source', 'component (metastore, control plane, ingester)', 'shard'] },
    upstream: {
      repo: 'quickwit-oss/quickwit',
      version: "the metastore's highest migration (`_sqlx_migrations`, `quickwitVersionOf` in src/codecs/quickwit.ts)",
      fixtures: 'test/fixtures/upstream/quickwit',
    },
    files: {
      checks: 'src/analysis/checks/shards.ts',
      codec: 'src/codecs/quickwit.ts',
      source: 'src/gateway/sources/quickwit.ts',
      simulator: 'src/simulator/quickwit.ts',
      mirror: 'src/simulator/mirrors/postgres.ts',
      docs: 'docs/gateway.md#quickwit-shards',
    },
  },
  milvus: {
    id: 'milvus',
    title: 'Milvus',
    subsystem: 'wal',
    subsystemTitle: 'WAL Nodes',
    collections: [STREAMING_NODES, WALS, APPENDS, CHANNEL_METAS],
    tree: { layout: 'src/engine/tree/wal.ts', levels: ['streaming node', 'WAL (and channel assignment)', 'append'] },
    upstream: {
      repo: 'milvus-io/milvus',
      version: "the streaming node's session (`Version`, `versionOfBuild` in src/codecs/milvus.ts)",
      fixtures: 'test/fixtures/upstream/milvus',
    },
    files: {
      checks: 'src/analysis/checks/wal.ts',
      codec: 'src/codecs/milvus.ts',
      source: 'src/gateway/sources/milvus.ts',
      simulator: 'src/simulator/milvus.ts',
      mirror: 'src/simulator/mirrors/etcd.ts',
      docs: 'docs/gateway.md#milvus-wal-the-coordinators-etcd',
    },
  },
  greptime: {
    id: 'greptime',
    title: 'GreptimeDB',
    subsystem: 'ddl',
    subsystemTitle: 'DDL Tasks',
    collections: [PROCEDURES, ETCD],
    tree: { layout: 'src/engine/tree/ddl.ts', levels: ['table (and etcd)', 'procedure (etcd prefix)'] },
    upstream: {
      repo: 'GreptimeTeam/greptimedb',
      version: "metasrv's candidate key (`MetasrvNodeInfo.version`, src/codecs/greptime.ts)",
      fixtures: 'test/fixtures/upstream/greptimedb',
    },
    files: {
      checks: 'src/analysis/checks/ddl.ts',
      codec: 'src/codecs/greptime.ts',
      source: 'src/gateway/sources/greptime.ts',
      simulator: 'src/simulator/greptime.ts',
      mirror: 'src/simulator/mirrors/etcd.ts',
      docs: 'docs/gateway.md#greptimedb-ddl-the-metasrvs-etcd',
    },
  },
  tikv: {
    id: 'tikv',
    title: 'TiKV',
    subsystem: 'regions',
    subsystemTitle: 'Regions',
    collections: [REGIONS, WRITE_BATCHES],
    tree: { layout: 'src/engine/tree/regions.ts', levels: ['store', 'write batch and cached region'] },
    upstream: {
      repo: 'tikv/tikv',
      version: "PD's stores (`version`, `git_hash`: `tikvVersionOf` in src/codecs/tikv.ts)",
      fixtures: 'test/fixtures/upstream/tikv',
    },
    files: {
      checks: 'src/analysis/checks/regions.ts',
      codec: 'src/codecs/tikv.ts',
      source: 'src/gateway/sources/tikv.ts',
      simulator: 'src/simulator/tikv.ts',
      mirror: 'src/simulator/http/tikv.ts',
      docs: 'docs/gateway.md#tikv-regions',
    },
  },
  fluvio: {
    id: 'fluvio',
    title: 'Fluvio',
    subsystem: 'partitions',
    subsystemTitle: 'Partitions',
    collections: [PARTITIONS, SPU_REPORTS, SPUS],
    tree: { layout: 'src/engine/tree/partitions.ts', levels: ['topic', 'partition'] },
    upstream: {
      repo: 'infinyon/fluvio',
      version: "the local cluster's `platform_version` (src/gateway/sources/fluvio-local.ts)",
      fixtures: 'test/fixtures/upstream/fluvio',
    },
    files: {
      checks: 'src/analysis/checks/partitions.ts',
      codec: 'src/codecs/fluvio.ts',
      source: 'src/gateway/sources/fluvio.ts',
      simulator: 'src/simulator/fluvio.ts',
      mirror: 'src/simulator/mirrors/fluvio.ts',
      docs: 'docs/gateway.md#fluvio-partitions',
    },
  },
} as const satisfies { readonly [Id in SystemId]: SystemDescriptor & { readonly id: Id } };

/** Which system each subsystem view (and document) shows. */
export const SYSTEM_OF_SUBSYSTEM = Object.fromEntries(SYSTEM_IDS.map((id) => [SYSTEMS[id].subsystem, id])) as Record<Subsystem, SystemId>;

/** Each subsystem's view title. */
export const SUBSYSTEM_TITLES = Object.fromEntries(SYSTEM_IDS.map((id) => [SYSTEMS[id].subsystem, SYSTEMS[id].subsystemTitle])) as Record<
  Subsystem,
  string
>;

/** Each system's name as users spell it. */
export const SYSTEM_TITLES = Object.fromEntries(SYSTEM_IDS.map((id) => [id, SYSTEMS[id].title])) as Record<SystemId, string>;

/** The descriptor of the system a subsystem shows. */
export function systemOf(subsystem: Subsystem): SystemDescriptor {
  return SYSTEMS[SYSTEM_OF_SUBSYSTEM[subsystem]];
}
