/**
 * `cluster-check` as a user runs it: the real bundle against the real
 * simulator, asserting stdout, stderr and the exit code.
 */
import * as assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Fact, SCENARIOS, type RuleId, type ScenarioName } from '../../src/protocol';
import { renderSnapshot } from '../../src/analysis';
import { INCIDENT_RULES, SCENARIO_RULES } from '../scenarioRules';
import { OUT, startSim, type RunningSim } from '../server/sim';
import { cli } from './cliProcess';
import * as F from '../unit/fixtures';
import { testSecret } from '../secrets';

const EXPECTED: Record<Exclude<ScenarioName, 'healthy'>, readonly RuleId[]> = { ...SCENARIO_RULES, 'incident-all': INCIDENT_RULES };

describe('cluster-check (real CLI, real simulator)', function () {
  this.timeout(90_000);
  const sims: RunningSim[] = [];
  afterEach(async () => {
    for (const s of sims.splice(0)) await s.stop();
  });
  async function sim(scenario: ScenarioName, extra: string[] = []): Promise<RunningSim> {
    const s = await startSim(['--scenario', scenario, '--seed', '1', ...extra]);
    sims.push(s);
    return s;
  }

  for (const scenario of SCENARIOS) {
    if (scenario === 'healthy') continue;
    it(`--format json reports ${scenario}'s rule ids and exits 1`, async () => {
      const s = await sim(scenario);
      const run = await cli([s.url, '--format', 'json'], { CLUSTER_SIM_TOKEN: s.token });
      assert.equal(run.code, 1, run.stderr);
      const report = JSON.parse(run.stdout) as {
        findings: Array<{ rule: string; count: number; id: string }>;
        counts: Record<string, number>;
      };
      const rules = [...new Set(report.findings.map((f) => f.rule))].sort();
      assert.deepEqual(rules, EXPECTED[scenario]);
      for (const f of report.findings) assert.ok(f.count > 0 && f.id.startsWith(`${f.rule}:`));
      assert.deepEqual(Object.keys(report.counts).sort(), EXPECTED[scenario]);
    });
  }

  it('exits 0 on healthy and on every incident with --bugs fixed', async () => {
    const healthy = await sim('healthy');
    const fixed = await sim('incident-all', ['--bugs', 'fixed']);
    for (const s of [healthy, fixed]) {
      const run = await cli([s.url, '--token', s.token]);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.match(run.stdout, /No findings/);
    }
  });

  it('--repair all: the dry run changes nothing, --yes repairs everything and exits 0', async () => {
    const s = await sim('incident-all');
    const dry = await cli([s.url, '--token', s.token, '--repair', 'all', '--dry-run']);
    assert.equal(dry.code, 1);
    assert.match(dry.stdout, /Repair plan/);
    assert.match(dry.stdout, /\[safe\]/);
    assert.match(dry.stdout, /Dry run: nothing was sent/);
    const refused = await cli([s.url, '--token', s.token, '--repair', 'all']);
    assert.equal(refused.code, 2);
    assert.equal(refused.stderr.trim().split('\n').length, 1);
    assert.match(refused.stderr, /refusing to repair without --yes/);
    const run = await cli([s.url, '--token', s.token, '--repair', 'all', '--yes']);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /All findings repaired/);
    const again = await cli([s.url, '--token', s.token, '--format', 'json']);
    assert.equal(again.code, 0, again.stdout);
    assert.deepEqual(JSON.parse(again.stdout).findings, []);
  });

  it('--repair RULE --dry-run previews the repair (text and JSON) and sends nothing', async () => {
    const s = await sim('quickwit-dangling-shards');
    const status = async () => (await (await s.client()).request('cluster.status', {})).counts['quickwit.metastore.shards'];
    const shards = await status();
    const dry = await cli([s.url, '--token', s.token, '--repair', 'shards/dangling', '--dry-run']);
    assert.equal(dry.code, 1, dry.stderr);
    assert.match(dry.stdout, /^Preview: Delete [\d,]+ uninitialised shards of \S+\/_ingest-source from the metastore \[safe\]$/m);
    assert.match(dry.stdout, /^resolves 1 finding, creates none; deletes [\d,]+ metastore shards$/m);
    assert.match(dry.stdout, /^ {2}quickwit\.deleteShards: \d+ requests?, [\d,]+ items → [\d,]+ applied, 0 refused, 0 unchanged$/m);
    assert.match(dry.stdout, /^Findings resolved \(1\)\n {2}shards\/dangling:/m);
    const json = await cli([s.url, '--token', s.token, '--repair', 'shards/dangling', '--dry-run', '--format', 'json']);
    assert.equal(json.code, 1, json.stderr);
    const report = JSON.parse(json.stdout) as {
      previews: Array<{
        findingId: string;
        preview: { resolves: { id: string }[]; creates: unknown[]; collections: Array<{ collection: string; deleted: number }> };
      }>;
    };
    assert.equal(report.previews.length, 1);
    const [{ findingId, preview }] = report.previews;
    assert.deepEqual(
      preview.resolves.map((f) => f.id),
      [findingId],
    );
    assert.deepEqual(preview.creates, []);
    assert.ok(preview.collections.find((c) => c.collection === 'quickwit.metastore.shards')!.deleted > 0);
    assert.equal(await status(), shards, 'a dry run deletes nothing');
  });

  it('--read-only refuses --repair with one line and exit 2, and still checks and previews', async () => {
    const s = await sim('quickwit-dangling-shards');
    const refused = await cli([s.url, '--token', s.token, '--read-only', '--repair', 'all', '--yes']);
    assert.equal(refused.code, 2);
    assert.equal(refused.stderr.trim().split('\n').length, 1);
    assert.match(refused.stderr, /^cluster-check: --read-only refuses --repair: nothing may be sent to the cluster/);
    assert.equal(refused.stdout, '');
    const check = await cli([s.url, '--token', s.token, '--read-only']);
    assert.equal(check.code, 1);
    assert.match(check.stdout, /shards\/dangling/);
    const dry = await cli([s.url, '--token', s.token, '--read-only', '--repair', 'all', '--dry-run']);
    assert.equal(dry.code, 1, dry.stderr);
    assert.match(dry.stdout, /Dry run: nothing was sent/);
    const after = await cli([s.url, '--token', s.token, '--format', 'json']);
    assert.ok(
      JSON.parse(after.stdout).findings.some((f: { rule: string }) => f.rule === 'shards/dangling'),
      'nothing was repaired',
    );
  });

  it('--format sarif prints SARIF 2.1.0 with the required fields', async () => {
    const s = await sim('incident-all');
    const run = await cli([s.url, '--token', s.token, '--format', 'sarif']);
    assert.equal(run.code, 1);
    const sarif = JSON.parse(run.stdout);
    assert.equal(sarif.version, '2.1.0');
    assert.match(sarif.$schema, /sarif-2\.1\.0/);
    assert.ok(Array.isArray(sarif.runs) && sarif.runs.length === 1);
    const [r] = sarif.runs;
    assert.equal(typeof r.tool.driver.name, 'string');
    const ruleIds = r.tool.driver.rules.map((x: { id: string }) => x.id);
    assert.ok(r.results.length > 0);
    for (const res of r.results) {
      assert.ok(ruleIds.includes(res.ruleId), res.ruleId);
      assert.ok(['error', 'warning', 'note', 'none'].includes(res.level));
      assert.equal(typeof res.message.text, 'string');
      assert.equal(res.locations.length, 1);
      const loc = res.locations[0].physicalLocation;
      assert.match(loc.artifactLocation.uri, /^cluster:\/\/.+\.clustersnap$/);
      assert.ok(loc.region.startLine >= 1);
    }

    // The facts: structured in the property bag, each also a related location with its sentence, the same as --format json says.
    const json = await cli([s.url, '--token', s.token, '--format', 'json']);
    const byId = new Map(
      (
        JSON.parse(json.stdout).findings as Array<{
          id: string;
          evidence: string[];
          facts: Array<Fact & { location?: { uri: string; line: number } }>;
        }>
      ).map((f) => [f.id, f]),
    );
    for (const res of r.results) {
      const facts = res.properties.facts as Fact[];
      const fromJson = byId.get(res.partialFingerprints.findingId)!;
      assert.ok(facts.length >= 2, res.ruleId);
      for (const x of facts) Fact.parse(x);
      assert.deepEqual(
        facts,
        fromJson.facts.map(({ location: _, ...x }) => x),
      );
      assert.deepEqual(
        fromJson.evidence,
        facts.map((x) => x.says),
      );
      assert.deepEqual(
        res.relatedLocations.map(
          (l: {
            id: number;
            message: { text: string };
            physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } };
          }) => [l.id, l.message.text, l.physicalLocation.artifactLocation.uri, l.physicalLocation.region.startLine],
        ),
        fromJson.facts.map((x, i) => [i, x.says, x.location!.uri, x.location!.line + 1]),
      );
    }
    const dangling = r.results.find((x: { ruleId: string }) => x.ruleId === 'shards/dangling');
    const [metastore, controlPlane] = dangling.properties.facts as Fact[];
    assert.equal(metastore!.component, 'metastore');
    assert.deepEqual([controlPlane!.component, controlPlane!.epoch], ['control plane', 1]);
    assert.match(controlPlane!.says, /^The control plane \(epoch 1\) knows \d+ of them\.$/);
    assert.match(dangling.relatedLocations[0].physicalLocation.artifactLocation.uri, /^cluster:\/\/sim\/sim\.shards\.clustersnap$/);
  });

  it('checks a snapshot file: syntax errors are problems (exit 1), a file that is no snapshot is an error (exit 2)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cluster-check-'));
    const healthy = renderSnapshot(F.healthyShard(F.model({ clusterName: 'prod' }), 's1').build());
    const good = join(dir, 'good.clustersnap');
    writeFileSync(good, healthy);
    const clean = await cli([good]);
    assert.equal(clean.code, 0, clean.stdout + clean.stderr);
    assert.match(clean.stdout, /No findings: .*good\.clustersnap is consistent\./);

    const broken = join(dir, 'broken.clustersnap');
    writeFileSync(broken, `${healthy}\n[no.such.collection]\n`);
    const text = await cli([broken]);
    assert.equal(text.code, 1, text.stdout + text.stderr);
    assert.match(text.stdout, /broken\.clustersnap:\d+:\d+: syntax error: unknown section \[no\.such\.collection\]/);
    assert.match(text.stdout, /1 syntax error; no findings in the lines that parsed\./);
    assert.doesNotMatch(text.stdout, /consistent/);
    const json = await cli([broken, '--format', 'json']);
    assert.equal(json.code, 1);
    assert.equal(JSON.parse(json.stdout).syntaxErrors.length, 1);

    const garbage = join(dir, 'garbage.clustersnap');
    writeFileSync(garbage, 'this is not a snapshot\n');
    const bad = await cli([garbage, '--format', 'json']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^cluster-check: .*garbage\.clustersnap is not a cluster snapshot: /);
    assert.equal(bad.stdout, '');
  });

  it("checks the README's snapshot example: it parses, and reports what the README says", async () => {
    const readme = readFileSync(join(OUT, '..', 'README.md'), 'utf8');
    const example = /```\n(# Cluster snapshot of [\s\S]*?)```/.exec(readme);
    assert.ok(example, 'the README has a snapshot example');
    const file = join(mkdtempSync(join(tmpdir(), 'cluster-check-')), 'readme.clustersnap');
    writeFileSync(file, example[1]);
    const run = await cli([file, '--format', 'json']);
    assert.equal(run.code, 1, run.stderr);
    const report = JSON.parse(run.stdout);
    assert.deepEqual(report.syntaxErrors, []);
    assert.deepEqual(Object.keys(report.counts).sort(), ['partitions/online-out-of-space', 'shards/dangling']);
  });

  it('reports a section named after an inherited property ([constructor]) as a syntax error (exit 1), not a crash', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cluster-check-'));
    const file = join(dir, 'inherited.clustersnap');
    writeFileSync(file, 'cluster sim scenario=x seed=1 time=1 seq=1 controlPlaneEpoch=1\n[constructor]\nundefined k version=1\n');
    const run = await cli([file]);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.equal(run.stderr, '');
    assert.match(run.stdout, /inherited\.clustersnap:2:\d+: syntax error: unknown section \[constructor\]/);
  });

  it('refuses to repair a snapshot file (exit 2)', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'cluster-check-')), 'any.clustersnap');
    writeFileSync(file, renderSnapshot(F.model().build()));
    const repair = await cli([file, '--repair', 'all', '--yes']);
    assert.equal(repair.code, 2);
    assert.match(repair.stderr, /cannot be repaired/);
  });

  it('exits 2 with one line on usage and connection errors', async () => {
    for (const args of [[], ['--format', 'xml', 'ws://127.0.0.1:1'], ['ws://127.0.0.1:1', '--repair', 'nope']]) {
      const run = await cli(args);
      assert.equal(run.code, 2, args.join(' '));
      assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
      assert.equal(run.stdout, '');
    }
    const s = await sim('healthy');
    const wrongToken = await cli([s.url, '--token', testSecret('wrong')]);
    assert.equal(wrongToken.code, 2);
    assert.match(wrongToken.stderr, /401|token/);
    assert.equal(wrongToken.stderr.trim().split('\n').length, 1);
  });

  it('takes a printed token as a separate argument; a token starting with "--" only inline (--token=…)', async () => {
    // A generated token never starts with '-', or `--token T` would read it as a missing value.
    const printed = await startSim(['--scenario', 'healthy'], undefined, { generatedToken: true });
    sims.push(printed);
    assert.match(printed.token, /^[0-9a-f]{48}$/);
    assert.equal((await cli([printed.url, '--token', printed.token])).code, 0);
    const dashed = await startSim(['--scenario', 'healthy', '--token=--dashed-token']);
    sims.push(dashed);
    const separate = await cli([dashed.url, '--token', '--dashed-token']);
    assert.equal(separate.code, 2);
    assert.match(separate.stderr, /--token needs a value \(for one starting with "--", write --token=VALUE\)/);
    assert.doesNotMatch(separate.stderr, /dashed-token/, 'the token is not echoed');
    assert.equal((await cli([dashed.url, '--token=--dashed-token'])).code, 0);
  });
});
