import * as assert from 'node:assert/strict';
import { effectiveProtection, readOnlyReason } from '../../src/protocol/preview';
import { configuredClusterName } from '../../src/protocol/config';

describe('protection: read-only, and why, in one wording', () => {
  it('a gateway that refuses every repair is read-only whatever the setting, and the reason names its own config', () => {
    const gateway = { name: 'prod-eu', protection: 'none' as const, status: { readOnly: true } };
    assert.equal(effectiveProtection(gateway), 'read-only');
    assert.equal(
      readOnlyReason(gateway),
      'prod-eu is read-only: it refuses every repair (a gateway repairs only with "repairs": true in its own config)',
    );
  });

  it('a cluster protected read-only in the settings says so; any other has no reason', () => {
    assert.equal(
      readOnlyReason({ name: 'prod', protection: 'read-only', status: { readOnly: false } }),
      'prod is protected read-only (its protection level in clusterDebugger.clusters)',
    );
    assert.equal(readOnlyReason({ name: 'sim', protection: 'none', status: null }), undefined);
    assert.equal(readOnlyReason({ name: 'staging', protection: 'confirm' }), undefined);
  });

  it("a viewer's connection to a gateway with per-user tokens is read-only, in the gateway's own words; an operator's is not", () => {
    const viewer = {
      name: 'team',
      protection: 'none' as const,
      status: { readOnly: false },
      caller: { user: 'bob', role: 'viewer' as const },
    };
    assert.equal(effectiveProtection(viewer), 'read-only');
    assert.equal(readOnlyReason(viewer), 'your role on this gateway is viewer (user bob is a viewer: repairs need the operator role)');
    const operator = { ...viewer, caller: { user: 'alice', role: 'operator' as const } };
    assert.equal(effectiveProtection(operator), 'none');
    assert.equal(readOnlyReason(operator), undefined);
    // A gateway that refuses every repair says so first: a role would not change that.
    assert.match(readOnlyReason({ ...viewer, status: { readOnly: true } }) ?? '', /^team is read-only: it refuses every repair/);
  });
});

describe('a gateway config names its cluster', () => {
  it("the editor connects a gateway under its config's clusterName; without one (or unreadable) the file name decides", () => {
    assert.equal(configuredClusterName(JSON.stringify({ clusterName: 'prod-eu', quickwit: {} })), 'prod-eu');
    assert.equal(configuredClusterName(JSON.stringify({ quickwit: {} })), undefined);
    assert.equal(configuredClusterName('{ "clusterName": '), undefined);
    assert.equal(configuredClusterName('null'), undefined);
    assert.equal(
      configuredClusterName('{\n  // the name the team knows it by\n  "clusterName": "prod-eu" /* not the file\'s */\n}'),
      'prod-eu',
      'a config may hold comments',
    );
  });
});
