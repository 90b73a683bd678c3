/**
 * TiKV end to end: the simulator's HTTP routes stand in for PD and the TiKV
 * status servers; `cluster-gateway` with only a tikv section reads them, and
 * `cluster-check` through the gateway reports what it reports against the
 * simulator. Repairs are refused: TiKV has no API for them.
 */
import * as assert from 'node:assert/strict';
import { startSim, type RunningSim } from '../server/sim';
import { cli } from '../cli/cliProcess';
import { startGateway } from './gateway';
import { SCENARIO_RULES } from '../scenarioRules';
import { testSecret } from '../secrets';

/** The gateway's token (test/secrets.ts: a whole test run is searched for it). */
const TOKEN = testSecret('gateway');

async function rulesOf(url: string, token: string): Promise<string[]> {
  const run = await cli([url, '--token', token, '--format', 'json']);
  const report = JSON.parse(run.stdout) as { findings: Array<{ rule: string }> };
  return [...new Set(report.findings.map((f) => f.rule))].sort();
}

describe('tikv through cluster-gateway (PD and status servers over HTTP)', function () {
  this.timeout(120_000);
  let sim: RunningSim | undefined;
  const stops: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const s of stops.splice(0)) await s();
    await sim?.stop();
    sim = undefined;
  });

  it("tikv-stale-prepared-region: the gateway reports the simulator's rule ids, and refuses repairs it has no API for", async () => {
    sim = await startSim(['--scenario', 'tikv-stale-prepared-region', '--seed', '1']);
    const expected = [...SCENARIO_RULES['tikv-stale-prepared-region']].sort();
    assert.deepEqual(await rulesOf(sim.url, sim.token), expected);
    const http = sim.url.replace(/^ws:/, 'http:').replace(/\/+$/, '');
    const gw = await startGateway(
      {
        // Opted in (the simulator's status routes cannot panic); a mark is stale after 3 reads over 0 ms with its applied index unchanged.
        tikv: {
          pd: http,
          tikvStatus: [`${http}/tikv/1`, `${http}/tikv/4/`, { storeId: 5, url: `${http}/tikv/5` }],
          pollCachedRegions: true,
          staleMarkMs: 0,
        },
        repairs: true,
        pollMs: 200,
      },
      { token: TOKEN },
    );
    stops.push(gw.stop);
    // A mark is stale once it persists over three reads: wait (with a deadline).
    const deadline = Date.now() + 20_000;
    let rules: string[] = [];
    while (Date.now() < deadline) {
      rules = await rulesOf(gw.url, TOKEN);
      if (rules.length) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.deepEqual(rules, expected, gw.output());
    const run = await cli([gw.url, '--token', TOKEN, '--repair', 'all', '--yes']);
    assert.notEqual(run.code, 0);
    // Both repairs are refused by the gateway (listed in its status), so none is planned as safe.
    assert.match(
      run.stdout + run.stderr,
      /regions\/stale-prepared:store-\d+: no safe repair; left for the editor \(.*refused by the gateway: /,
    );
    assert.deepEqual(await rulesOf(gw.url, TOKEN), expected, 'nothing changed');
  });

  it('PD unreachable: the regions subsystem is unavailable with the reason, and the gateway keeps serving', async () => {
    const gw = await startGateway(
      { tikv: { pd: 'http://127.0.0.1:9', tikvStatus: ['http://127.0.0.1:9'] }, pollMs: 200 },
      { token: TOKEN },
    );
    stops.push(gw.stop);
    const run = await cli([gw.url, '--token', TOKEN, '--format', 'json']);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(gw.output(), /regions: unavailable \(cannot read PD at http:\/\/127\.0\.0\.1:9/);
  });
});
