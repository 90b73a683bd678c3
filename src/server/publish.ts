/**
 * What the server tells the client of its own accord, as the workspace changes: each subsystem
 * document's diagnostics (only those that differ from what was last sent), `clusterDebugger/didChange`
 * and `clusterDebugger/syncProgress` (at most every `SYNC_PROGRESS_EVERY_MS`).
 */
import type { Diagnostic } from 'vscode-languageserver/node';
import {
  LSP_NOTIFICATIONS,
  SUBSYSTEMS,
  clusterDocUri,
  clusterKey,
  type DidChangeParams,
  type Subsystem,
  type SyncProgress,
  type SyncProgressParams,
} from '../protocol';
import { findingDiagnostics } from './diagnostics';
import type { ServerState, WorkspaceCluster, WorkspaceListener } from './state';

/** A sync's progress goes to the client at most this often (a page of 5,000 entities takes a few ms). */
const SYNC_PROGRESS_EVERY_MS = 200;

/** The listener that keeps the client's diagnostics and views in step with the workspace. */
export function workspacePublisher(state: ServerState): WorkspaceListener {
  const { connection } = state;
  /** The JSON of the last published diagnostics per document: publish only what changed. */
  const published = new Map<string, string>();
  /** Per cluster (by `clusterKey`) whose sync progress the client was told of: when it was last told, and what. */
  const syncsReported = new Map<string, { at: number; progress: SyncProgress }>();

  /** Publishes every subsystem document whose diagnostics differ from what was last sent. */
  function republish(c: WorkspaceCluster): void {
    for (const subsystem of SUBSYSTEMS) {
      const uri = clusterDocUri(c.name, subsystem);
      let diagnostics: Diagnostic[] = [];
      const doc = state.clusterDocument(c, subsystem);
      if (doc.findings.length) {
        // Before the first sync ends, the findings are provisional (from counts) and there is no document yet.
        diagnostics = findingDiagnostics(doc.findings, doc.documents, c.name, doc.stale, doc.sync);
      }
      const json = JSON.stringify(diagnostics);
      if (published.get(uri) === json) continue;
      published.set(uri, json);
      connection.sendDiagnostics({ uri, diagnostics });
    }
  }

  function notifySync(params: SyncProgressParams): void {
    connection.sendNotification(LSP_NOTIFICATIONS.syncProgress.method, params).catch((e) => state.logError('syncProgress', e));
  }

  function notifyChanged(c: WorkspaceCluster, subsystems: readonly Subsystem[]): void {
    const params: DidChangeParams = {
      cluster: c.name,
      subsystems: [...subsystems],
      state: state.sessionState(c),
      clusters: state.clusters(),
    };
    connection.sendNotification(LSP_NOTIFICATIONS.didChange.method, params).catch((e) => state.logError('didChange', e));
  }

  return {
    changed: (c, subsystems) => {
      republish(c);
      if (subsystems.length) notifyChanged(c, subsystems);
    },
    syncProgress: (c, progress, outcome) => {
      const key = clusterKey(c.name);
      const last = syncsReported.get(key);
      if (progress) {
        const now = Date.now();
        if (last !== undefined && now - last.at < SYNC_PROGRESS_EVERY_MS) {
          last.progress = progress;
          return;
        }
        syncsReported.set(key, { at: now, progress });
        notifySync({ cluster: c.name, phase: 'syncing', ...progress });
        // Provisional findings say how far the sync that replaces them is.
        if (state.hasProvisionalFindings(c)) republish(c);
        return;
      }
      if (last === undefined) return;
      syncsReported.delete(key);
      notifySync({ cluster: c.name, ...last.progress, ...(outcome ?? { phase: 'done' }) });
    },
    removed: (c) => {
      // Disconnected mid-sync (the progress notification's Cancel): that sync ends here.
      const last = syncsReported.get(clusterKey(c.name));
      syncsReported.delete(clusterKey(c.name));
      if (last) notifySync({ cluster: c.name, phase: 'cancelled', ...last.progress });
      for (const s of SUBSYSTEMS) {
        const uri = clusterDocUri(c.name, s);
        published.delete(uri);
        connection.sendDiagnostics({ uri, diagnostics: [] });
      }
      notifyChanged(c, [...SUBSYSTEMS]);
    },
  };
}
