/**
 * Each scenario, observed through the protocol: buggy breaks its invariant,
 * fixed and healthy break none.
 */
import * as assert from 'node:assert/strict';
import { SCENARIOS, type ScenarioName } from '../../src/protocol';
import { INCIDENT_RULES, SCENARIO_RULES } from '../scenarioRules';
import { INVARIANTS, snapshot, useSimulator, violations, type Invariant } from './helpers';

/** What a scenario breaks. No scenario orphans shards: only the rolling-restart fault does (rolling-restart.test.ts). */
function brokenIn(scenario: ScenarioName): readonly Invariant[] {
  if (scenario === 'healthy') return [];
  if (scenario === 'incident-all') return INCIDENT_RULES;
  return SCENARIO_RULES[scenario];
}

describe('simulator scenarios (observed over the socket)', () => {
  const sim = useSimulator();

  for (const scenario of SCENARIOS) {
    for (const bugs of ['buggy', 'fixed'] as const) {
      it(`${scenario} (${bugs}): ${bugs === 'buggy' && scenario !== 'healthy' ? `breaks ${brokenIn(scenario).join(', ')}` : 'every invariant holds'}`, async () => {
        const status = await sim.client.request('sim.reset', { scenario, seed: 7, bugs });
        assert.equal(status.scenario, scenario);
        const v = violations(await snapshot(sim.client), status);
        const expected = bugs === 'buggy' ? brokenIn(scenario) : [];
        for (const inv of INVARIANTS) {
          if (expected.includes(inv)) assert.ok(v[inv].length > 0, `${inv} should be broken in ${scenario} (${bugs})`);
          else assert.deepEqual(v[inv], [], `${inv} should hold in ${scenario} (${bugs})`);
        }
      });
    }
  }

  it('the quickwit scenario leaks exactly the requested number of shards, the model keeps the live ones', async () => {
    const status = await sim.client.request('sim.reset', {
      scenario: 'quickwit-dangling-shards',
      seed: 3,
      bugs: 'buggy',
      size: { danglingShards: 1234, liveShards: 100 },
    });
    assert.equal(status.counts['quickwit.metastore.shards'], 1334);
    assert.equal(status.counts['quickwit.controlPlane.shards'], 100);
    const v = violations(await snapshot(sim.client, 5000), status);
    assert.equal(v['shards/dangling'].length, 1234);
  });

  it('the wal node stays Terminating far past its grace period while ticking (buggy), and stops (fixed)', async () => {
    await sim.client.request('sim.reset', { scenario: 'milvus-wal-close-blocked', seed: 1, bugs: 'buggy' });
    const status = await sim.client.request('sim.tick', { ticks: 100 });
    let s = await snapshot(sim.client);
    assert.ok(violations(s, status)['wal/close-blocked'].length > 0);
    const node = [...s['milvus.nodes'].values()].find((n) => n.lifecycle === 'Terminating')!;
    assert.ok(status.time - node.stopRequestedAt! > 10 * node.gracePeriodSeconds);

    await sim.client.request('sim.setBugs', { bugs: { ...status.bugs, wal: 'fixed' } });
    await sim.client.request('sim.inject', { fault: 'milvus.rollingUpgrade' });
    await sim.client.request('sim.tick', { ticks: 5 });
    s = await snapshot(sim.client);
    assert.equal(
      [...s['milvus.nodes'].values()].filter((n) => n.lifecycle === 'Stopped').length,
      1,
      'the node upgraded with the fix reached Stopped',
    );
  });
});
