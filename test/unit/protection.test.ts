import * as assert from 'node:assert/strict';
import { effectiveProtection, readOnlyReason } from '../../src/protocol/preview';

describe('protection: read-only, and why, in one wording', () => {
  it('a gateway that refuses every repair is read-only whatever the setting, and the reason names its own config', () => {
    const gateway = { name: 'prod-eu', protection: 'none' as const, status: { readOnly: true } };
    assert.equal(effectiveProtection(gateway), 'read-only');
    assert.equal(readOnlyReason(gateway), 'prod-eu is read-only: it refuses every repair (a gateway repairs only with "repairs": true in its own config)');
  });

  it('a cluster protected read-only in the settings says so; any other has no reason', () => {
    assert.equal(readOnlyReason({ name: 'prod', protection: 'read-only', status: { readOnly: false } }), 'prod is protected read-only (its protection level in clusterDebugger.clusters)');
    assert.equal(readOnlyReason({ name: 'sim', protection: 'none', status: null }), undefined);
    assert.equal(readOnlyReason({ name: 'staging', protection: 'confirm' }), undefined);
  });
});
