// ESLint flat config: typescript-eslint's recommended rules, the core rules of
// eslint:recommended that TypeScript does not already check, and the layer rules
// (which folder of src/ may import which). `npm run lint`; part of `npm test`.
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

/**
 * eslint:recommended minus what typescript-eslint's `eslint-recommended` turns
 * off because the compiler checks it (no-undef, no-redeclare, no-dupe-keys, ...).
 * Listed here because `@eslint/js` is not a dependency.
 */
const CORE_RECOMMENDED = [
  'for-direction',
  'no-async-promise-executor',
  'no-case-declarations',
  'no-compare-neg-zero',
  'no-cond-assign',
  'no-constant-binary-expression',
  'no-constant-condition',
  'no-control-regex',
  'no-debugger',
  'no-delete-var',
  'no-dupe-else-if',
  'no-duplicate-case',
  'no-empty',
  'no-empty-character-class',
  'no-empty-pattern',
  'no-empty-static-block',
  'no-ex-assign',
  'no-extra-boolean-cast',
  'no-fallthrough',
  'no-global-assign',
  'no-invalid-regexp',
  'no-irregular-whitespace',
  'no-loss-of-precision',
  'no-misleading-character-class',
  'no-nonoctal-decimal-escape',
  'no-octal',
  'no-prototype-builtins',
  'no-regex-spaces',
  'no-self-assign',
  'no-shadow-restricted-names',
  'no-sparse-arrays',
  'no-unassigned-vars',
  'no-unexpected-multiline',
  'no-unsafe-finally',
  'no-unsafe-optional-chaining',
  'no-unused-labels',
  'no-unused-private-class-members',
  'no-useless-assignment',
  'no-useless-backreference',
  'no-useless-catch',
  'no-useless-escape',
  'preserve-caught-error',
  'require-yield',
  'use-isnan',
  'valid-typeof',
];

const LAYERS = ['protocol', 'codecs', 'analysis', 'cluster', 'simulator', 'gateway', 'engine', 'server', 'cli', 'extension'];

/**
 * Which layer of src/ may import which (besides itself, npm packages and node
 * built-ins), and the rule in words for the error message. Tests, bench/ and
 * scripts/ may import any layer.
 */
const LAYER_RULES = {
  protocol: { may: [], rule: 'src/protocol/ is the shared definitions: it imports no other folder of src/.' },
  analysis: { may: ['protocol'], rule: 'src/analysis/ is pure checks: it imports only src/protocol/.' },
  codecs: { may: ['protocol'], rule: 'src/codecs/ translates the real systems\' records to entities and back: it imports only src/protocol/.' },
  cluster: { may: ['protocol'], rule: 'src/cluster/ serves the protocol for any backend: it imports only src/protocol/.' },
  simulator: {
    may: ['protocol', 'cluster', 'codecs'],
    rule: 'The simulator is a cluster: src/simulator/ imports only src/protocol/, src/cluster/ (the server) and src/codecs/ (to mirror into real stores).',
  },
  gateway: {
    may: ['protocol', 'cluster', 'codecs'],
    rule: 'The gateway is a cluster over real stores: src/gateway/ imports only src/protocol/, src/cluster/ and src/codecs/ (never the simulator).',
  },
  engine: { may: ['protocol', 'analysis'], rule: 'src/engine/ imports only src/protocol/ and src/analysis/ (no LSP, no simulator, no extension).' },
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

/** A relative import that climbs out of the importing folder into one of `layers`, from any depth (also via `../../src/`). */
function layerImport(layers) {
  return `^(\\.\\./)+(src/)?(${layers.join('|')})(/|$)`;
}

/** The same, for a selector of no-restricted-syntax (esquery's regex literals cannot hold a `/`). */
function layerImportSelector(layers) {
  return `/${layerImport(layers).replaceAll('/', '\\x2F')}/`;
}

const layerConfigs = Object.entries(LAYER_RULES).map(([layer, { may, rule }]) => {
  const forbidden = LAYERS.filter((l) => l !== layer && !may.includes(l));
  const source = `[value=${layerImportSelector(forbidden)}]`;
  return {
    name: `cluster-debugger/layers/${layer}`,
    files: [`src/${layer}/**/*.ts`],
    rules: {
      // The typescript-eslint version also sees `import x = require(...)`; type-only imports count too.
      '@typescript-eslint/no-restricted-imports': ['error', { patterns: [{ regex: layerImport(forbidden), message: rule }] }],
      // What no-restricted-imports does not see: `import('...')` calls and `import('...').T` types.
      'no-restricted-syntax': [
        'error',
        { selector: `ImportExpression > Literal.source${source}`, message: rule },
        { selector: `TSImportType > Literal.source${source}`, message: rule },
      ],
    },
  };
});

export default defineConfig(
  {
    ignores: ['out/', 'dist/', 'node_modules/', '.cache/', '.test-artifacts/', '.vscode-test/', '**/*.vsix', 'scripts/vscode-host/'],
  },
  tseslint.configs.recommended,
  {
    name: 'cluster-debugger/base',
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      ...Object.fromEntries(CORE_RECOMMENDED.map((r) => [r, 'error'])),
      // A leading underscore marks a parameter (or binding) kept for its position or its
      // interface, e.g. `build(_size: Sizes)` in a simulator module that ignores the size.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
    },
  },
  {
    name: 'cluster-debugger/ui-test-page-functions',
    files: ['test/ui/**/*.ts'],
    rules: {
      // Functions passed to Playwright's `evaluate` run in the workbench page; this project
      // compiles without the DOM library, so their DOM values are typed loosely on purpose.
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  layerConfigs,
);
