/** The question Run All Safe Repairs asks of a cluster still syncing: no count yet, the sync's percentage, and that the run waits. */
import * as assert from 'node:assert/strict';
import type { ClusterInfo } from '../../../src/protocol';
import { waitingDetail, waitingQuestion } from '../../../src/extension/commands/repairAllWaits';

const syncing = (name: string, sync?: ClusterInfo['sync']): ClusterInfo => ({
  name,
  url: 'ws://127.0.0.1:1',
  state: 'syncing',
  error: null,
  status: null,
  problems: { shards: 0, wal: 0, ddl: 0, regions: 0, partitions: 0 },
  errors: 0,
  warnings: 0,
  protection: 'none',
  ...(sync ? { sync } : {}),
});

describe('Run All Safe Repairs on a cluster still syncing: the question', () => {
  it('names the cluster and how far its sync is, and says the run waits for it', () => {
    const big = syncing('big', { done: 37, total: 100, entitiesPerSecond: 10 });
    assert.equal(waitingQuestion([big]), 'Apply every safe repair on big once its sync ends (37% now)?');
    assert.match(waitingDetail(big), /^big is syncing \(37%\): .*not counted here\. Repair All waits for the sync, then applies/);
  });

  it('without progress yet, or for several clusters, leaves the percentage out', () => {
    assert.equal(waitingQuestion([syncing('big')]), 'Apply every safe repair on big once its sync ends?');
    assert.equal(waitingQuestion([syncing('a'), syncing('b')]), 'Apply every safe repair on 2 clusters once their syncs end?');
  });
});
