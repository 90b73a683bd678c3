/**
 * docs/rules/: a runbook page per rule, shipped in the VSIX, and linked from the diagnostic's
 * code (`codeDescription.href`), the hover's last line and SARIF's `helpUri`, all from one base
 * (src/protocol/runbooks.ts).
 */
import * as assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { clusterDocUri, RULE_IDS, RULES, type Subsystem } from '../../src/protocol';
import { PUBLISHED_RUNBOOKS_URL, RUNBOOKS_DIR, RUNBOOKS_URL_ENV, runbooksBase, runbookLine, runbookUrl } from '../../src/protocol/runbooks';
import { findRunbooksDir, processRunbooksBase } from '../../src/engine/runbooks';
import { checkOnlineOutOfStorage, renderSubsystem, type DocumentsOf } from '../../src/analysis';
import { findingDiagnostics, findingsHover } from '../../src/server/diagnostics';
import { renderSarif } from '../../src/cli/report';
import * as F from './fixtures';

// Bundled to out/test/unit/; the repository root is three levels up.
const ROOT = join(__dirname, '..', '..', '..');
const RULES_DIR = join(ROOT, RUNBOOKS_DIR);

function pages(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? pages(p) : name.endsWith('.md') ? [p] : [];
  });
}

/** The relative links of a markdown page (no scheme), without their #anchor. */
function relativeLinks(text: string): string[] {
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1]!)
    .filter((l) => !/^[a-z]+:/.test(l) && !l.startsWith('#'))
    .map((l) => l.replace(/#.*$/, ''));
}

describe('runbooks (docs/rules)', () => {
  it('every rule of RULES has its page, the index links each, and no page is of an unknown rule', () => {
    const missing = RULE_IDS.filter((id) => !existsSync(join(RULES_DIR, `${id}.md`)));
    assert.deepEqual(missing, [], `rules without a runbook page in ${RUNBOOKS_DIR}/: add <rule-id>.md`);
    const index = readFileSync(join(RULES_DIR, 'README.md'), 'utf8');
    for (const id of RULE_IDS) assert.ok(index.includes(`](${id}.md)`), `docs/rules/README.md links ${id}`);
    const known = new Set(RULE_IDS.map((id) => `${id}.md`));
    const extra = pages(RULES_DIR)
      .map((p) => relative(RULES_DIR, p).split('\\').join('/'))
      .filter((p) => p !== 'README.md' && !known.has(p));
    assert.deepEqual(extra, [], 'a page whose rule is not in RULES');
    // Each page names its rule and its severity as RULES says.
    for (const id of RULE_IDS) {
      const first = readFileSync(join(RULES_DIR, `${id}.md`), 'utf8').split('\n')[0]!;
      assert.ok(first.startsWith(`# \`${id}\` (${RULES[id].severity}, `), `${id}.md's title: ${first}`);
    }
  });

  it('ships in the VSIX with every file its pages link to (vsce ls, as `npm run package` packs)', async function () {
    this.timeout(60_000);
    // Loaded at run time from node_modules, not bundled into the test.
    const vsce = createRequire(join(ROOT, 'package.json'))('@vscode/vsce') as {
      listFiles(o: { cwd: string; packageManager: number }): Promise<string[]>;
      PackageManager: { None: number };
    };
    const shipped = new Set(
      (await vsce.listFiles({ cwd: ROOT, packageManager: vsce.PackageManager.None })).map((f) => f.split('\\').join('/')),
    );
    for (const id of RULE_IDS) assert.ok(shipped.has(`${RUNBOOKS_DIR}/${id}.md`), `the VSIX holds ${RUNBOOKS_DIR}/${id}.md`);
    assert.ok(shipped.has(`${RUNBOOKS_DIR}/README.md`));
    for (const page of pages(RULES_DIR)) {
      for (const link of relativeLinks(readFileSync(page, 'utf8'))) {
        const target = resolve(dirname(page), link);
        const rel = relative(ROOT, target).split('\\').join('/');
        assert.ok(existsSync(target), `${relative(ROOT, page)} links ${link}, which does not exist`);
        assert.ok(shipped.has(rel), `${relative(ROOT, page)} links ${rel}, which the VSIX does not hold (.vscodeignore)`);
      }
    }
  });

  it('one base: the environment, else the published URL, else the installed copy; none: no link', () => {
    assert.equal(
      PUBLISHED_RUNBOOKS_URL,
      undefined,
      'no public home yet (package.json has no repository); update docs/rules/README.md when setting it',
    );
    assert.equal(runbooksBase({ [RUNBOOKS_URL_ENV]: 'https://docs.example/rules' }, 'file:///x/docs/rules'), 'https://docs.example/rules/');
    assert.equal(runbooksBase({ [RUNBOOKS_URL_ENV]: ' ' }, 'file:///x/docs/rules'), 'file:///x/docs/rules/');
    assert.equal(runbooksBase({}, undefined), undefined);
    assert.equal(runbookUrl('shards/dangling', 'https://docs.example/rules/'), 'https://docs.example/rules/shards/dangling.md');
    // Found from any bundle below the root (out/<process>.js, out/test/unit/<test>.js).
    assert.equal(findRunbooksDir(__dirname), RULES_DIR);
    assert.equal(findRunbooksDir(join(ROOT, 'out')), RULES_DIR);
    assert.equal(findRunbooksDir('/'), undefined);
    if (!process.env[RUNBOOKS_URL_ENV]) assert.equal(processRunbooksBase(), `${pathToFileURL(RULES_DIR).href}/`);
  });

  const model = F.model({ time: 300 })
    .add('fluvio.partitions', F.partition('events', 0))
    .add('fluvio.spuReports', F.spuReport(5001, 'events', 0, { storageFull: true, reportedAt: 120, freeBytes: 0 }))
    .build();
  const documents: DocumentsOf = (s: Subsystem) => ({ uri: clusterDocUri('sim', s), index: renderSubsystem(model, s, 'sim') });
  const [finding] = checkOnlineOutOfStorage(model);
  const base = 'https://docs.example/rules/';

  it("links a diagnostic's code to its rule's page (codeDescription.href), by default the installed copy", () => {
    const [d] = findingDiagnostics([finding!], documents, 'sim', false, null, base);
    assert.equal(d!.code, 'partitions/online-out-of-space');
    assert.deepEqual(d!.codeDescription, { href: 'https://docs.example/rules/partitions/online-out-of-space.md' });
    assert.equal(findingDiagnostics([finding!], documents, 'sim', false, null, null)[0]!.codeDescription, undefined);
    if (process.env[RUNBOOKS_URL_ENV]) return;
    const installed = findingDiagnostics([finding!], documents, 'sim', false)[0]!.codeDescription!.href;
    assert.ok(existsSync(fileURLToPath(installed)), `${installed} is a page`);
  });

  it("ends the hover with a Runbook line that links the rule's page", () => {
    const hover = findingsHover([finding!], documents, model.status, base);
    assert.equal(
      hover.split('\n').at(-1),
      'Runbook: [partitions/online-out-of-space](https://docs.example/rules/partitions/online-out-of-space.md)',
    );
    assert.equal(runbookLine('ddl/backlog', base), 'Runbook: [ddl/backlog](https://docs.example/rules/ddl/backlog.md)');
    assert.ok(!findingsHover([finding!], documents, model.status).includes('Runbook'), 'no base given: no line');
  });

  it('gives each SARIF rule its page as helpUri (CI: the URL of a published copy)', () => {
    const report = { target: 'x', findings: [finding!], syntaxErrors: [], documents };
    const sarif = JSON.parse(renderSarif(report, base));
    const rules = sarif.runs[0].tool.driver.rules as { id: string; helpUri?: string }[];
    assert.equal(
      rules.find((r) => r.id === 'partitions/online-out-of-space')!.helpUri,
      'https://docs.example/rules/partitions/online-out-of-space.md',
    );
    for (const id of RULE_IDS) assert.equal(rules.find((r) => r.id === id)!.helpUri, runbookUrl(id, base));
    // The snapshot syntax rule has no runbook.
    assert.equal(rules.find((r) => !RULE_IDS.includes(r.id as never))!.helpUri, undefined);
    // By default: the installed copy, an absolute URL as SARIF requires.
    if (process.env[RUNBOOKS_URL_ENV]) return;
    const installed = JSON.parse(renderSarif(report)).runs[0].tool.driver.rules[0].helpUri as string;
    assert.ok(existsSync(fileURLToPath(installed)), `${installed} is a page`);
  });
});
