/**
 * What a repair preview is held to, shared by the simulator's test (test/server/preview.test.ts) and
 * the gateway's (test/gateway/preview-gateway.test.ts): the findings it says the repair resolves,
 * creates and leaves are those the applied repair did, and its per-item answers are the cluster's.
 */
import * as assert from 'node:assert/strict';
import type { ApplyRepairResult, RepairPreview } from '../../src/protocol';

export const ids = (findings: readonly { id: string }[]): string[] => findings.map((f) => f.id).sort();
export const minus = (a: readonly string[], b: readonly string[]): string[] => a.filter((x) => !b.includes(x));

/** `before` and `after`: the finding ids before and after the repair was applied. */
export function assertPreviewTold(
  what: string,
  preview: RepairPreview,
  result: ApplyRepairResult,
  before: readonly string[],
  after: readonly string[],
): void {
  assert.deepEqual(ids(preview.resolves), minus(before, after), `${what}: resolves (${preview.summary}; ${result.summary})`);
  assert.deepEqual(ids(preview.creates), minus(after, before), `${what}: creates (${preview.summary})`);
  assert.deepEqual(
    ids(preview.remains),
    after.filter((id) => before.includes(id)),
    `${what}: remains`,
  );
  const sum = (k: 'applied' | 'refused') => preview.operations.reduce((n, o) => n + o[k], 0);
  assert.equal(sum('applied'), result.applied, `${what}: items applied (${result.summary})`);
  assert.equal(sum('refused'), result.refused, `${what}: items refused (${result.summary})`);
}
