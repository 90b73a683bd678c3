/**
 * The gateway's config file as an operator writes it: JSON with comments (`//` and `/* *\/`, as
 * VS Code's JSONC), and the commented template the extension's "Create cluster-gateway.json"
 * writes (`schemas/cluster-gateway.template.jsonc`, generated from here with the schema by
 * `npm run gateway-schema`; a unit test fails while the committed file differs).
 */
import { stripJsonComments } from '../protocol/jsonc';
import { GATEWAY_CONFIG_DESCRIPTIONS, GatewayConfig, type GatewayConfigInput } from './config';

/** A config file's text → its JSON value (comments allowed); throws JSON.parse's error. */
export function parseConfigText(text: string): unknown {
  return JSON.parse(stripJsonComments(text));
}

type Section = 'greptime' | 'quickwit' | 'milvus' | 'tikv' | 'fluvio';

/** The example name the template gives, commented out. */
export const CLUSTER_NAME_EXAMPLE = 'prod-eu';

/** What each system's section looks like for a typical cluster (docs/gateway.md has each in full); a test parses each. */
export const SECTION_EXAMPLES: { [S in Section]-?: NonNullable<GatewayConfigInput[S]> } = {
  greptime: { etcd: { endpoints: ['http://metasrv-etcd:2379'] }, storeKeyPrefix: '', maxRunningProcedures: 128 },
  quickwit: {
    postgres: { connectionString: 'postgres://quickwit_ro@metastore-db:5432/quickwit-metastore', passwordEnv: 'QW_METASTORE_PASSWORD' },
    node: 'http://quickwit-searcher:7280',
  },
  milvus: { etcd: { endpoints: ['http://milvus-etcd:2379'] }, rootPath: 'by-dev', metaSubPath: 'meta', gracePeriodSeconds: 30 },
  tikv: { pd: 'http://pd:2379', tikvStatus: ['http://tikv-0:20180'], pollCachedRegions: false },
  fluvio: { metadataDir: '/home/me/.fluvio/data/metadata' },
};

/** The systems' sections, in the schema's order. */
const SECTIONS = Object.keys(GatewayConfig.shape).filter((k): k is Section => k in SECTION_EXAMPLES);

/** One more line of advice under a section's description, where the description alone misleads. */
const SECTION_NOTES: Partial<Record<Section, string>> = {
  greptime: 'etcd with auth: add "username" and "passwordEnv" (the name of an environment variable); TLS: "tls": {"caFile": …}.',
  quickwit: 'The password comes from "passwordEnv" (or PGPASSWORD, ~/.pgpass), never from the connection string.',
  milvus: "gracePeriodSeconds: the streaming nodes' terminationGracePeriodSeconds (Kubernetes holds it, not etcd).",
  fluvio:
    'Repairs are refused while an SC runs on this folder. Optional: "spuStorage": [{"spuId": 5001, "statfs": "<the SPU\'s log folder>"}].',
};

/**
 * The commented template: `repairs` and `pollMs` with their defaults; `clusterName` and each
 * system's section commented out, with an example (uncomment the ones you run). Every key of the
 * schema is in it, with its description.
 */
export function gatewayConfigTemplate(): string {
  const defaults = GatewayConfig.parse({});
  const lines = [
    "// cluster-gateway config: which real stores the gateway reads each system's metadata from.",
    '// JSON with comments. Every system is optional: uncomment the sections of the systems you run and',
    '// set their addresses; a system without a section shows as "not configured".',
    '// Each key is described in docs/gateway.md; the editor checks this file against',
    '// schemas/gateway-config.schema.json. No credentials in URLs: use "passwordEnv".',
    '// Start it with "Cluster: Start Gateway…" (connected under this file\'s name).',
    '{',
    `  // ${GATEWAY_CONFIG_DESCRIPTIONS.clusterName}`,
    `  // Default ${JSON.stringify(defaults.clusterName)}.`,
    `  // "clusterName": ${JSON.stringify(CLUSTER_NAME_EXAMPLE)},`,
  ];
  for (const s of SECTIONS) {
    lines.push('', `  // ${GATEWAY_CONFIG_DESCRIPTIONS[s]}`);
    const note = SECTION_NOTES[s];
    if (note) lines.push(`  // ${note}`);
    const body = JSON.stringify(SECTION_EXAMPLES[s], null, 2).split('\n');
    body[0] = `"${s}": ${body[0]}`;
    body[body.length - 1] += ',';
    lines.push(...body.map((l) => `  // ${l}`));
  }
  // A team gateway (docs/operations.md): per-user tokens with roles, the Origins a browser client may use, the audit journal.
  lines.push(
    '',
    `  // ${GATEWAY_CONFIG_DESCRIPTIONS.users}`,
    '  // "users": [{"name": "alice", "role": "operator", "tokenHash": "scrypt$16384$8$1$…"}, {"name": "bob", "role": "viewer", "tokenHash": "…"}],',
    `  // ${GATEWAY_CONFIG_DESCRIPTIONS.usersFile}`,
    '  // "usersFile": "/etc/cluster-gateway/users.json",',
    `  // ${GATEWAY_CONFIG_DESCRIPTIONS.allowedOrigins}`,
    '  // "allowedOrigins": [],',
    `  // ${GATEWAY_CONFIG_DESCRIPTIONS.journal}`,
    '  // "journal": "/var/lib/cluster-gateway/audit.jsonl",',
  );
  lines.push(
    '',
    `  // ${GATEWAY_CONFIG_DESCRIPTIONS.metrics}`,
    "  // Default: on the gateway's own port, no token needed. docs/operations.md lists the metrics and the alert rules.",
    '  // "metrics": { "port": 9464, "requireToken": false },',
    '',
    `  // ${GATEWAY_CONFIG_DESCRIPTIONS.repairs}`,
    `  "repairs": ${JSON.stringify(defaults.repairs)},`,
    `  // ${GATEWAY_CONFIG_DESCRIPTIONS.pollMs}`,
    `  "pollMs": ${JSON.stringify(defaults.pollMs)}`,
    '}',
  );
  return `${lines.join('\n')}\n`;
}
