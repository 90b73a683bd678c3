/**
 * The gateway's config file: which real stores to read each system's
 * metadata from. JSON, validated here; `schemas/gateway-config.schema.json`
 * (generated from this schema, checked by a test) gives editors completion.
 * Every section is optional: a system that is not configured shows as "not
 * configured" in its view, not as an error.
 */
import { z } from 'zod';
import { Role } from '../protocol';
import { hasPassword, hasUserInfo } from '../protocol/redact';
import { tokenHashProblem } from '../cluster/auth';

/**
 * A URL without user info. Credentials in a URL would be copied into every error that names the
 * URL (the gateway's log, `cluster.status`, `cluster-check`'s output); Node's `fetch` refuses them
 * anyway. etcd takes `username` and `passwordEnv`; an HTTP API behind an authenticating proxy is
 * not supported with credentials in its URL.
 */
const url = (what: string) =>
  z.url().refine((u) => !hasUserInfo(u), {
    message: `${what}: credentials in a URL are refused (they would show in logs and statuses); remove "user:password@" (for etcd use "username" and "passwordEnv")`,
  });

/** TLS for a store: PEM files, read when the gateway starts. */
export const TlsConfig = z.strictObject({
  /** CA bundle that signs the server's certificate. */
  caFile: z.string().optional(),
  /** Client certificate and key, for stores that require mutual TLS. */
  certFile: z.string().optional(),
  keyFile: z.string().optional(),
  /**
   * Check the server's certificate (chain and host name; for PostgreSQL as `sslmode` says). false: not checked at
   * all, for a test store only; the gateway logs a warning and lists it in the subsystem's status. Default true.
   */
  verify: z.boolean().default(true),
});

/** An etcd v3 cluster (GreptimeDB's metasrv, Milvus's coordinators). */
export const EtcdConfig = z.strictObject({
  endpoints: z.array(url('an etcd endpoint')).min(1),
  /** etcd's own authentication (`etcdctl user add`); the password may come from an environment variable instead. */
  username: z.string().optional(),
  password: z.string().optional(),
  passwordEnv: z.string().optional(),
  tls: TlsConfig.optional(),
  /** etcd's `--max-txn-ops` (default 128): a repair packs its targets' conditional writes into transactions of at most this many operations. */
  maxTxnOps: z.number().int().min(4).max(1_000_000).default(128),
});

/** libpq's `sslmode` values (see src/gateway/sources/postgres.ts for what each does). */
export const SslMode = z.enum(['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full']);

/** A postgres:// connection string with a user name but no password (the password comes from `passwordEnv` or PGPASSWORD). */
const connectionString = z
  .string()
  .regex(/^postgres(ql)?:\/\//, 'a postgres:// connection string')
  .refine((u) => !hasPassword(u), {
    message:
      'a password in the connection string is refused (it would show in logs and statuses): use "passwordEnv" (or PGPASSWORD, or ~/.pgpass)',
  })
  .refine((u) => SslMode.safeParse(new URL(u).searchParams.get('sslmode') ?? 'prefer').success, {
    message: `sslmode must be one of libpq's: ${SslMode.options.join(', ')}`,
  });

/** A PostgreSQL connection string; the password may come from an environment variable (or PGPASSWORD) instead. */
export const PostgresConfig = z.union([
  connectionString,
  z.strictObject({
    connectionString,
    passwordEnv: z.string().optional(),
    /** libpq's sslmode (default: the URL's, else PGSSLMODE, else prefer). */
    sslmode: SslMode.optional(),
    tls: TlsConfig.optional(),
  }),
]);

/**
 * One engineer of a team gateway: a name (said in refusals, the log and the audit journal), a role,
 * and the salted hash of their token (`scrypt$N$r$p$SALT$HASH`, made by `cluster-gateway hash-token`).
 */
export const GatewayUser = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9._@-]+$/, 'a user name is letters, digits and . _ @ -'),
  role: Role,
  tokenHash: z.string().refine((h) => tokenHashProblem(h) === undefined, {
    message: 'not a token hash of the form scrypt$N$r$p$SALT$HASH (make one with `cluster-gateway hash-token`)',
  }),
});
export type GatewayUser = z.infer<typeof GatewayUser>;

/** A file of users (`usersFile`): `{"users": [...]}`, so the hashes can live apart from the config (a Kubernetes Secret). */
export const GatewayUsersFile = z.strictObject({ users: z.array(GatewayUser).min(1) });

export const GatewayConfig = z
  .strictObject({
    /** The cluster's name in `cluster.status` (the extension shows its own name for the connection). */
    clusterName: z.string().min(1).max(64).default('gateway'),
    greptime: z
      .strictObject({
        etcd: EtcdConfig,
        /** metasrv's `store_key_prefix` (default ""), prepended to every key. */
        storeKeyPrefix: z.string().default(''),
        /** metasrv's `procedure.max_running_procedures`. */
        maxRunningProcedures: z.number().int().positive().default(128),
        /** metasrv's `procedure.max_retry_times`. */
        maxRetryTimes: z.number().int().nonnegative().default(12),
        /** metasrv's `procedure.max_metadata_value_size` (1500 KiB): larger values are split into segments. */
        maxMetadataValueSize: z
          .number()
          .int()
          .min(1024)
          .default(1500 * 1024),
        /** etcd's `--quota-backend-bytes`. */
        etcdQuotaBytes: z
          .number()
          .int()
          .positive()
          .default(2 * 1024 ** 3),
      })
      .optional(),
    quickwit: z
      .strictObject({
        /** The PostgreSQL metastore. */
        postgres: PostgresConfig,
        /** A Quickwit node's REST API (its `/api/developer/debug` serves the control plane's shard table). */
        node: url('quickwit.node'),
      })
      .optional(),
    milvus: z
      .strictObject({
        etcd: EtcdConfig,
        rootPath: z.string().default('by-dev'),
        metaSubPath: z.string().default('meta'),
        /** The streaming nodes' `terminationGracePeriodSeconds` (Kubernetes, not etcd, holds it). */
        gracePeriodSeconds: z.number().int().positive().default(30),
      })
      .optional(),
    tikv: z
      .strictObject({
        /** PD's HTTP API. */
        pd: url('tikv.pd'),
        /**
         * TiKV status servers (their `/debug/ime/cached_regions`): a base URL, whose store is the one PD lists
         * with that `status_address`, or `{storeId, url}` to name the store.
         */
        tikvStatus: z
          .array(
            z.union([url('tikv.tikvStatus'), z.strictObject({ storeId: z.number().int().nonnegative(), url: url('tikv.tikvStatus') })]),
          )
          .min(1),
        /**
         * Read each status server's `/debug/ime/cached_regions` (default false). That route panics TiKV, and the store
         * exits, when its in-memory engine caches a region with an empty end key; stores holding a peer of the last
         * region are skipped even when this is true. Off: the Regions view's collections are unavailable, with why.
         */
        pollCachedRegions: z.boolean().optional(),
        /** How long a region must stay marked prepared for write (same epoch, applied index unchanged) before it counts as stale, in ms (default 30000). */
        staleMarkMs: z.number().int().min(0).optional(),
      })
      .optional(),
    fluvio: z
      .strictObject({
        /** The SC's local metadata folder (`<data>/metadata`, holding `Partition/`, `Topic/`, `SPU/`). */
        metadataDir: z.string().min(1),
        /**
         * The local cluster's `local-config` (TOML written by `fluvio cluster start --local`), read for
         * its `platform_version`; default `<metadataDir>/../../local-config` (`~/.fluvio/local-config`
         * for the default `~/.fluvio/data/metadata`), used only when its `data_dir` is this folder's parent.
         */
        localConfig: z.string().min(1).optional(),
        /**
         * Where each SPU's free disk space is read (Fluvio keeps no record of an SPU's storage report):
         * `statfs` of the SPU's log folder, or a JSON file `{"freeBytes": N, "outOfStorage"?: ["<topic>-<n>", …]}`
         * kept by a monitor (`outOfStorage`: the replicas whose writes the SPU failed with "Storage is full").
         */
        spuStorage: z
          .array(
            z.strictObject({
              spuId: z.number().int(),
              statfs: z.string().min(1).optional(),
              file: z.string().min(1).optional(),
              /** The SPU counts as full (appends fail) at or below this many free bytes. */
              fullBelowBytes: z
                .number()
                .int()
                .nonnegative()
                .default(1024 * 1024),
            }),
          )
          .default([]),
      })
      .optional(),
    /** Repairs write to the real stores: off unless asked for. */
    repairs: z.boolean().default(false),
    /** How often stores without a watch (PostgreSQL, HTTP, files) are read again, in ms. */
    pollMs: z.number().int().min(100).max(600_000).default(2000),
    /** `GET /metrics` (Prometheus): where it is served and whether it needs the token (docs/operations.md). */
    metrics: z
      .strictObject({
        /** Serve /metrics on this port of its own (0: a free one); absent: on the gateway's own port. `--metrics-port` overrides it. */
        port: z.number().int().min(0).max(65535).optional(),
        /** The address of that port (default: the gateway's `--host`). */
        host: z.string().min(1).optional(),
        /** Scrapes must send the gateway's token (`Authorization: Bearer …`); default false. */
        requireToken: z.boolean().default(false),
        /** Least time between two runs of the checks behind the finding metrics, in ms (default 1000). */
        checkIntervalMs: z.number().int().min(100).max(600_000).optional(),
      })
      .optional(),
    /**
     * Per-user tokens with roles: given, each connection is the user whose token it sent (and `--token` is
     * refused); absent, one shared token (`--token`, `$CLUSTER_GATEWAY_TOKEN`) whose holder may repair.
     */
    users: z.array(GatewayUser).min(1).optional(),
    /** A JSON file of `{"users": [...]}`, read at start, instead of (or besides) `users`; relative to the config file. */
    usersFile: z.string().min(1).optional(),
    /** Origins (`https://host:port`) allowed to open the WebSocket; an upgrade with any other Origin is refused with 403. Default none. */
    allowedOrigins: z.array(z.string().min(1)).default([]),
    /**
     * The gateway's own audit journal (JSON lines, fsynced; relative to the config file): every repair and undo it is sent,
     * who sent it, before-images and results. A request is applied only once its intent is on disk.
     */
    journal: z.string().min(1).optional(),
  })
  .refine((c) => new Set((c.users ?? []).map((u) => u.name)).size === (c.users ?? []).length, {
    message: 'users: each name once',
    path: ['users'],
  });
export type GatewayConfig = z.infer<typeof GatewayConfig>;
export type GatewayConfigInput = z.input<typeof GatewayConfig>;

/**
 * The file names the extension validates with the schema and offers to `Cluster: Start Gateway…`:
 * `cluster-gateway.json`, or `<name>.cluster-gateway.json` (the cluster is then connected as `<name>`).
 */
export const GATEWAY_CONFIG_SUFFIX = '.cluster-gateway.json';
export const GATEWAY_CONFIG_FILE = 'cluster-gateway.json';

/** Hover text of the config's top-level keys in an editor (the sections document their own fields in docs/gateway.md). */
export const GATEWAY_CONFIG_DESCRIPTIONS: Record<keyof GatewayConfig, string> = {
  clusterName: "The cluster's name in cluster.status (the extension shows its own name for the connection).",
  greptime: "GreptimeDB: the metasrv's etcd, where DDL procedures are kept (the DDL Tasks view).",
  quickwit: "Quickwit: the PostgreSQL metastore and a node's REST API (the Shards view).",
  milvus: "Milvus: the coordinators' etcd, with the streaming coordinator's pchannel assignments (the WAL Nodes view).",
  tikv: "TiKV: PD's HTTP API and the TiKV status servers (the Regions view); /debug/ime/cached_regions only with pollCachedRegions: true, as that route can crash a store.",
  fluvio: "Fluvio: the SC's local metadata folder (the Partitions view).",
  repairs: 'Repairs write to the real stores, each as a conditional write: off (read-only) unless true.',
  pollMs: 'How often stores without a watch (PostgreSQL, HTTP, files) are read again, in ms.',
  metrics: 'GET /metrics for Prometheus: on the gateway port (default) or a port of its own, with or without the token (requireToken).',
  users:
    'Per-user tokens with roles (viewer: read and preview; operator: also repair and undo), each as a salted hash made by `cluster-gateway hash-token`.',
  usersFile: 'A JSON file {"users": [...]} read at start (relative to this config), e.g. mounted from a Kubernetes Secret.',
  allowedOrigins: 'Origins allowed to open the WebSocket (a browser-based client); any other Origin is refused with 403.',
  journal: "The gateway's own audit journal (JSON lines, fsynced): who sent each repair and undo, before-images and results.",
};

/** The JSON schema editors validate a config file with (`jsonValidation`). */
export function gatewayConfigJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(GatewayConfig, { io: 'input' }) as Record<string, unknown> & {
    properties: Record<string, Record<string, unknown>>;
  };
  for (const [key, description] of Object.entries(GATEWAY_CONFIG_DESCRIPTIONS)) {
    if (schema.properties[key]) schema.properties[key] = { description, ...schema.properties[key] };
  }
  return {
    ...schema,
    title: 'cluster-gateway config',
    description:
      'Which real stores cluster-gateway reads each system\'s metadata from. Every system is optional; repairs are off unless "repairs": true.',
  };
}

/** schemas/gateway-config.schema.json as committed (`node scripts/gateway-schema.mjs` writes it). */
export function gatewayConfigSchemaText(): string {
  return `${JSON.stringify(gatewayConfigJsonSchema(), null, 2)}\n`;
}
