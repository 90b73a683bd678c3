/**
 * The question Run All Safe Repairs asks of a cluster still syncing (commands/repair.ts asks it):
 * its repairs cannot be counted yet, and the server's run waits for the sync before it applies them.
 */
import { percentDone, plural } from '../../protocol/format';
import type { ClusterInfo } from '../../protocol/lsp';

/** "Apply every safe repair on big once its sync ends (37% now)?" */
export function waitingQuestion(syncing: readonly ClusterInfo[]): string {
  if (syncing.length > 1) return `Apply every safe repair on ${plural(syncing.length, 'cluster')} once their syncs end?`;
  const c = syncing[0];
  return `Apply every safe repair on ${c.name} once its sync ends${c.sync ? ` (${percentDone(c.sync)}% now)` : ''}?`;
}

export function waitingDetail(c: ClusterInfo): string {
  return (
    `${c.name} is syncing${c.sync ? ` (${percentDone(c.sync)}%)` : ''}: its findings are known once the sync ends, so its repairs are not counted here. ` +
    'Repair All waits for the sync, then applies each safe repair; Cancel in its progress stops it before anything is sent.'
  );
}
