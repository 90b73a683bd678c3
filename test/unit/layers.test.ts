/**
 * The layer rules (scripts/layers.mjs) hold: lint fails on an import a layer may not make, whatever
 * form it takes, passes on one it may, and README.md's tables of the rules are the rules.
 */
import * as assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ESLint } from 'eslint';
import { LAYER_RULES, LAYERS, PACKAGE_RULES, renderLayerTables } from '../../scripts/layers.mjs';

const ROOT = join(__dirname, '..', '..', '..');

/** Markdown with each table row's cells trimmed and its separator row as `---`: a table reads the same padded or not. */
function tableCells(markdown: string): string {
  return markdown
    .split('\n')
    .map((line) => {
      if (!line.startsWith('|')) return line;
      const cells = line.split('|').slice(1, -1);
      return `| ${cells.map((c) => (/^\s*:?-+:?\s*$/.test(c) ? '---' : c.trim())).join(' | ')} |`;
    })
    .join('\n');
}

describe('layer rules', function () {
  // Loading typescript-eslint takes a few seconds on a loaded machine.
  this.timeout(120_000);
  let eslint: ESLint;
  before(() => {
    eslint = new ESLint({ cwd: ROOT });
  });

  /** The messages of lint on `code` as if it were the file `filePath` (which need not exist). */
  async function lint(filePath: string, code: string): Promise<string[]> {
    const [result] = await eslint.lintText(code, { filePath: join(ROOT, filePath) });
    return result.messages.map((m) => `${m.ruleId}: ${m.message}`);
  }

  it('fails on vscode in src/engine/', async () => {
    const messages = await lint('src/engine/x.ts', "import * as vscode from 'vscode';\nexport const v = vscode;\n");
    assert.equal(messages.length, 1, messages.join('\n'));
    assert.match(messages[0], /^cluster-debugger\/layers: src\/engine\/ must not import 'vscode': /);
  });

  it('fails on pg in src/analysis/', async () => {
    const messages = await lint('src/analysis/x.ts', "import pg from 'pg';\nexport const p = pg;\n");
    assert.equal(messages.length, 1, messages.join('\n'));
    assert.match(messages[0], /^cluster-debugger\/layers: src\/analysis\/ must not import 'pg': /);
  });

  it('passes on what a layer may import', async () => {
    const cases: [string, string][] = [
      ['src/analysis/x.ts', "import { z } from 'zod';\nimport { METHODS } from '../protocol';\nexport const a = [z, METHODS];\n"],
      [
        'src/engine/x.ts',
        "import { ClusterClient } from '../cluster/client';\nimport { readFile } from 'node:fs/promises';\nexport const a = [ClusterClient, readFile];\n",
      ],
      ['src/server/x.ts', "import { createConnection } from 'vscode-languageserver/node';\nexport const a = createConnection;\n"],
      [
        'src/extension/x.ts',
        "import * as vscode from 'vscode';\nimport { LanguageClient } from 'vscode-languageclient/node';\nexport const a = [vscode, LanguageClient];\n",
      ],
      ['src/gateway/sources/x.ts', "import pg from 'pg';\nimport { Etcd3 } from 'etcd3';\nexport const a = [pg, Etcd3];\n"],
      // A subfolder named like a layer is the importer's own: depth counts.
      ['src/engine/tree/x.ts', "import { a } from '../cluster';\nexport const b = a;\n"],
      ['src/extension/views/x.ts', "import { a } from '../server/api';\nexport const b = a;\n"],
      [
        'test/unit/x.ts',
        "import * as vscode from 'vscode';\nimport { a } from '../../src/simulator/simulator';\nexport const b = [vscode, a];\n",
      ],
    ];
    for (const [file, code] of cases) assert.deepEqual(await lint(file, code), [], file);
  });

  it('fails on every form of import: static, re-export, import(), import type, import = require', async () => {
    const messages = await lint(
      'src/analysis/checks/x.ts',
      [
        "export type D = import('vscode-languageserver').Diagnostic;",
        "export const f = () => import('node:fs/promises');",
        "export * from '../../engine';",
        "export { WebSocket } from 'ws';",
        "import type { Socket } from 'net';",
        'export type S = Socket;',
        "import http = require('http');",
        'export const h = http;',
      ].join('\n'),
    );
    const layerMessages = messages.filter((m) => m.startsWith('cluster-debugger/layers: '));
    assert.equal(layerMessages.length, 6, messages.join('\n'));
    assert.ok(layerMessages.includes(`cluster-debugger/layers: ${LAYER_RULES.analysis.rule}`), messages.join('\n'));
  });

  it("fails on src/cluster/'s server side in src/engine/, which may import only its client", async () => {
    const messages = await lint('src/engine/x.ts', "import { a } from '../cluster/server';\nexport const b = a;\n");
    assert.deepEqual(messages, [`cluster-debugger/layers: ${LAYER_RULES.engine.rule}`]);
  });

  it('README.md states the rules as scripts/layers.mjs has them (`node scripts/layers.mjs` prints the tables)', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const tables = renderLayerTables();
    assert.ok(tableCells(readme).includes(tableCells(tables)), `README.md must hold these tables (cells padded or not):\n${tables}`);
  });

  it('names every layer once, and only layers', () => {
    assert.deepEqual([...Object.keys(LAYER_RULES)].sort(), [...LAYERS].sort());
    for (const { may } of Object.values(LAYER_RULES)) for (const m of may) assert.ok(LAYERS.includes(m.split('/')[0]), m);
    for (const { allowedIn } of PACKAGE_RULES) for (const l of allowedIn) assert.ok(LAYERS.includes(l), l);
  });
});
