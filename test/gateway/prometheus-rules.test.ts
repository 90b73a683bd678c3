/**
 * deploy/prometheus/cluster-debugger.rules.yml: `promtool test rules` passes on its test file
 * (Debian's prometheus package: scripts/setup-test-deps.sh), every rule of the checks has exactly
 * one alert with a runbook that exists, and every metric the alerts read is one /metrics serves.
 */
import * as assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RULES, type RuleId } from '../../src/protocol';
import { createClusterMetrics } from '../../src/cluster/metrics';
import { Simulator } from '../../src/simulator/simulator';
import { ROOT } from '../server/sim';
import { alertsOf, PROMTOOL, RULES_DIR, RULES_FILE } from './prometheus';

describe('Prometheus alert rules (deploy/prometheus)', function () {
  this.timeout(60_000);

  it('pass `promtool check rules` and `promtool test rules`', async function () {
    assert.ok(
      existsSync(PROMTOOL),
      `${PROMTOOL} is missing: scripts/setup-test-deps.sh installs Debian's prometheus (or set PROMTOOL_BIN)`,
    );
    for (const args of [
      ['check', 'rules', 'cluster-debugger.rules.yml'],
      ['test', 'rules', 'cluster-debugger.rules.test.yml'],
    ]) {
      const { code, output } = await new Promise<{ code: number; output: string }>((resolve) =>
        execFile(PROMTOOL, args, { cwd: RULES_DIR }, (err, stdout, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
        ),
      );
      assert.equal(code, 0, `promtool ${args.join(' ')}:\n${output}`);
      assert.match(output, /SUCCESS/);
    }
  });

  it("has one alert per rule of the checks, each linking the rule's runbook, plus the store alerts", () => {
    const alerts = alertsOf(readFileSync(RULES_FILE, 'utf8'));
    for (const rule of Object.keys(RULES) as RuleId[]) {
      const mine = alerts.filter((a) => a.expr.includes(`rule="${rule}"`));
      assert.equal(mine.length, 1, `one alert for ${rule}: ${mine.map((a) => a.alert).join(', ')}`);
      assert.equal(mine[0]!.runbook, `docs/rules/${rule}.md`);
    }
    for (const a of alerts) assert.ok(existsSync(join(ROOT, a.runbook)), `${a.alert}'s runbook ${a.runbook} exists`);
    assert.ok(alerts.some((a) => a.alert === 'ClusterDebuggerStoreUnavailable'));
    assert.ok(alerts.some((a) => a.alert === 'ClusterDebuggerStaleRead'));
    // The tested file covers every alert.
    const tests = readFileSync(join(RULES_DIR, 'cluster-debugger.rules.test.yml'), 'utf8');
    for (const a of alerts) assert.match(tests, new RegExp(`alertname: ${a.alert}$`, 'm'), `${a.alert} is tested`);
  });

  it('reads only metrics that /metrics serves', async () => {
    const simulator = new Simulator();
    simulator.reset({ scenario: 'incident-all' });
    const metrics = createClusterMetrics(simulator);
    const served = new Set([...(await metrics.render()).matchAll(/^# TYPE (\w+) /gm)].map((m) => m[1]!));
    metrics.close();
    for (const a of alertsOf(readFileSync(RULES_FILE, 'utf8')))
      for (const name of a.expr.match(/\bcluster_debugger_\w+/g) ?? [])
        assert.ok(served.has(name), `${a.alert} reads ${name}, which /metrics serves`);
  });
});
