// The layer rules, as data: which folder of src/ may import which, and which npm packages and Node
// built-ins only some layers may import. eslint.config.mjs enforces them (rule `cluster-debugger/layers`);
// test/unit/layers.test.ts checks that README.md's two tables say the same. `node scripts/layers.mjs`
// prints the tables to paste into README.md after a change here.
//
// Pure data and functions: no file is read here, so the tests can bundle it.

export const LAYERS = ['protocol', 'codecs', 'analysis', 'cluster', 'simulator', 'gateway', 'engine', 'server', 'cli', 'extension'];

/**
 * Which layer of src/ may import which (besides itself), and the rule in words for the error message.
 * An entry of `may` is a layer (`protocol`: any file of src/protocol/) or one module of it
 * (`cluster/client`: src/cluster/client.ts only). Tests, bench/ and scripts/ may import any layer.
 */
export const LAYER_RULES = {
  protocol: { may: [], rule: 'src/protocol/ is the shared definitions: it imports no other folder of src/.' },
  analysis: { may: ['protocol'], rule: 'src/analysis/ is pure checks: it imports only src/protocol/.' },
  codecs: {
    may: ['protocol'],
    rule: "src/codecs/ translates the real systems' records to entities and back: it imports only src/protocol/.",
  },
  cluster: {
    may: ['protocol', 'analysis'],
    rule: "src/cluster/ is the cluster protocol's WebSocket, both ends (the server for any backend, and the client): it imports only src/protocol/ and src/analysis/ (the pure checks, which /metrics runs on the served model).",
  },
  simulator: {
    may: ['protocol', 'cluster', 'codecs'],
    rule: 'The simulator is a cluster: src/simulator/ imports only src/protocol/, src/cluster/ (the server) and src/codecs/ (to mirror into real stores).',
  },
  gateway: {
    may: ['protocol', 'cluster', 'codecs'],
    rule: 'The gateway is a cluster over real stores: src/gateway/ imports only src/protocol/, src/cluster/ and src/codecs/ (never the simulator).',
  },
  engine: {
    may: ['protocol', 'analysis', 'cluster/client', 'cluster/journal-file'],
    rule: "src/engine/ imports only src/protocol/, src/analysis/, the protocol's client src/cluster/client.ts and the journal's writer src/cluster/journal-file.ts (shared with the gateway's audit journal; no LSP, no simulator, no extension, no server side of the protocol).",
  },
  server: {
    may: ['protocol', 'analysis', 'engine'],
    rule: 'The language server imports only src/engine/, src/analysis/ and src/protocol/ (not the extension, the simulator or the CLI).',
  },
  cli: {
    may: ['protocol', 'analysis', 'engine'],
    rule: 'cluster-check imports only src/engine/, src/analysis/ and src/protocol/ (not the extension, the simulator or the server).',
  },
  extension: {
    may: ['protocol'],
    rule: 'The extension reaches the engine only through src/protocol/ (and the language server): src/extension/ imports only src/protocol/, vscode and npm packages.',
  },
};

/** The layers that do no I/O: they compute, so they can be tested and reused anywhere. */
const PURE = ['protocol', 'analysis', 'codecs'];

/**
 * npm packages and Node built-ins that only some layers may import (type-only imports included); every
 * other package and built-in is allowed everywhere. A name ending in `*` is a prefix; each name also
 * covers its subpaths (`vscode-languageclient/node`), and a built-in its `node:` form.
 */
export const PACKAGE_RULES = [
  {
    names: ['vscode', 'vscode-languageclient*'],
    allowedIn: ['extension'],
    why: "the editor's API and the LSP client run only in the extension host (src/extension/); everything else runs without an editor",
  },
  {
    names: ['vscode-languageserver*', 'vscode-jsonrpc*'],
    allowedIn: ['server'],
    why: 'only the language server (src/server/) speaks LSP; the engine under it has no LSP in it',
  },
  {
    names: ['ws'],
    allowedIn: ['cluster'],
    why: "the cluster protocol's WebSocket, server and client, is src/cluster/ (server.ts, client.ts); the others go through them",
  },
  {
    names: ['pg', 'pg-*', 'etcd3', '@grpc/*'],
    allowedIn: ['simulator', 'gateway'],
    why: "only the gateway (its sources) and the simulator (its mirrors) talk to the real systems' stores",
  },
  {
    builtin: true,
    names: ['fs', 'net', 'http', 'https', 'http2', 'tls', 'dgram', 'dns', 'child_process', 'cluster', 'worker_threads', 'readline'],
    allowedIn: LAYERS.filter((l) => !PURE.includes(l)),
    why: `${PURE.map((l) => `src/${l}/`).join(', ')} are pure: no file, socket or process I/O`,
  },
];

/** A package rule's names as one regular expression over an import specifier. */
export function packageRegex({ names, builtin }) {
  const alts = names.map((n) => n.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace('*', '[^/]*'));
  return new RegExp(`^${builtin ? '(node:)?' : ''}(${alts.join('|')})(/.*)?$`);
}

/**
 * Why `layer` may not import `target`, or undefined if it may.
 * `target` is a relative import resolved against src/ (`engine/tree`, `cluster/client.ts`, `protocol`),
 * or, for an npm package or Node built-in, its specifier as written (`pg`, `node:fs`).
 */
export function layerViolation(layer, target) {
  if (target.relativeToSrc !== undefined) {
    const parts = target.relativeToSrc
      .replace(/\.(ts|js|mjs|cjs)$/, '')
      .replace(/\/index$/, '')
      .split('/');
    const to = parts[0];
    if (to === layer || !LAYERS.includes(to)) return undefined;
    const { may, rule } = LAYER_RULES[layer];
    if (may.includes(to) || may.includes(parts.join('/'))) return undefined;
    return rule;
  }
  for (const group of PACKAGE_RULES) {
    if (!group.allowedIn.includes(layer) && packageRegex(group).test(target.specifier)) {
      return `src/${layer}/ must not import '${target.specifier}': ${group.why}.`;
    }
  }
  return undefined;
}

const code = (s) => `\`${s}\``;

/** README.md's two tables of the layer rules, rendered from the data above. */
export function renderLayerTables() {
  const layers = [
    '| `src/…` | may import from `src/` (besides itself) |',
    '|---|---|',
    ...LAYERS.map((l) => `| ${code(l)} | ${LAYER_RULES[l].may.map(code).join(', ') || 'nothing'} |`),
  ];
  const packages = [
    '| npm package or Node built-in | only in `src/…` |',
    '|---|---|',
    ...PACKAGE_RULES.map((g) => {
      const names = g.names.map(code).join(', ') + (g.builtin ? ' (and `node:…`)' : '');
      const forbidden = LAYERS.filter((l) => !g.allowedIn.includes(l));
      const where =
        g.allowedIn.length <= forbidden.length ? g.allowedIn.map(code).join(', ') : `every layer but ${forbidden.map(code).join(', ')}`;
      return `| ${names} | ${where} |`;
    }),
  ];
  return `${layers.join('\n')}\n\n${packages.join('\n')}\n`;
}

// `node scripts/layers.mjs` (not import.meta: the tests bundle this file as CommonJS).
if (/[\\/]scripts[\\/]layers\.mjs$/.test(process.argv[1] ?? '')) process.stdout.write(renderLayerTables());
