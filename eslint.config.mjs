// ESLint flat config: typescript-eslint's recommended rules, the core rules of
// eslint:recommended that TypeScript does not already check, and the layer rules
// (scripts/layers.mjs: which folder of src/ may import which, and which npm packages and
// Node built-ins each may use). `npm run lint`; part of `npm test`.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';
import { LAYERS, layerViolation } from './scripts/layers.mjs';

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

/**
 * The layer rules (scripts/layers.mjs: which folder of src/ may import which, and which npm packages and
 * Node built-ins only some layers may import) as one rule. It resolves each relative import against the
 * importing file, so depth does not matter (`src/engine/tree/x.ts` may import `../cluster`, which is
 * src/engine/cluster.ts), and it sees every way to name a module: `import`, `export … from`, `import()`,
 * `import('…').T` types, `import x = require('…')` and `require('…')`; type-only imports count too.
 */
const SRC = fileURLToPath(new URL('src/', import.meta.url));

/** The layer of an absolute file name: the folder of src/ it is in, or undefined outside the layers. */
function layerOfFile(filename) {
  const [layer, ...rest] = relative(SRC, filename).split(sep);
  return rest.length > 0 && LAYERS.includes(layer) ? layer : undefined;
}

const layersRule = {
  meta: {
    type: 'problem',
    docs: {
      description: 'Each folder of src/ imports only the layers, npm packages and Node built-ins its layer may (scripts/layers.mjs).',
    },
    schema: [],
  },
  create(context) {
    const layer = layerOfFile(context.filename);
    if (layer === undefined) return {};
    const check = (source) => {
      if (!source || source.type !== 'Literal' || typeof source.value !== 'string') return;
      const specifier = source.value;
      const relativeImport = specifier.startsWith('.') || isAbsolute(specifier);
      const target = relativeImport ? resolve(dirname(context.filename), specifier) : undefined;
      const message = layerViolation(
        layer,
        target !== undefined ? { relativeToSrc: relative(SRC, target).split(sep).join('/') } : { specifier },
      );
      if (message !== undefined) context.report({ node: source, message });
    };
    return {
      ImportDeclaration: (node) => check(node.source),
      ExportNamedDeclaration: (node) => check(node.source),
      ExportAllDeclaration: (node) => check(node.source),
      ImportExpression: (node) => check(node.source),
      TSImportType: (node) => check(node.source),
      TSExternalModuleReference: (node) => check(node.expression),
      'CallExpression[callee.type="Identifier"][callee.name="require"]': (node) => check(node.arguments[0]),
    };
  },
};

const layersPlugin = {
  // `eslint --cache` (npm run test:fast) keys its cache on the plugin's name and version: a change to the rules is a new version.
  meta: {
    name: 'cluster-debugger',
    version: createHash('sha256')
      .update(readFileSync(new URL('scripts/layers.mjs', import.meta.url)))
      .update(readFileSync(new URL(import.meta.url)))
      .digest('hex')
      .slice(0, 16),
  },
  rules: { layers: layersRule },
};

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
  {
    name: 'cluster-debugger/layers',
    files: ['src/**/*.ts'],
    plugins: { 'cluster-debugger': layersPlugin },
    rules: { 'cluster-debugger/layers': 'error' },
  },
);
