/**
 * Snapshot files open in the editor (`.clustersnap`, on disk or unsaved), analysed offline: their
 * syntax errors and findings as diagnostics, re-analysed a moment after each edit and when the rule
 * settings change. Their quick fixes are shown disabled: a file is never repaired.
 */
import { DiagnosticSeverity, type Diagnostic } from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { CLUSTER_SCHEME, SNAPSHOT_LANGUAGE } from '../protocol';
import { SYNTAX_SOURCE, findingDiagnostics } from './diagnostics';
import type { ServerState } from './state';

const OFFLINE_DEBOUNCE_MS = 200;

export function isSnapshotFile(doc: TextDocument): boolean {
  // `cluster:` documents are ours already; only files on disk (or unsaved ones) are analysed here.
  return doc.languageId === SNAPSHOT_LANGUAGE && !doc.uri.startsWith(`${CLUSTER_SCHEME}:`);
}

/** Analyses the file a moment from now (again, if it was due already). */
export function scheduleOffline(state: ServerState, uri: string): void {
  let entry = state.offline.get(uri);
  if (!entry) state.offline.set(uri, (entry = { findings: [], timer: null }));
  if (entry.timer) clearTimeout(entry.timer);
  entry.timer = setTimeout(() => {
    entry!.timer = null;
    try {
      analyseOffline(state, uri);
    } catch (e) {
      state.logError(`snapshot ${uri}`, e);
    }
  }, OFFLINE_DEBOUNCE_MS);
}

/** Every open snapshot file, analysed again (the rule settings changed). */
export function rescheduleAllOffline(state: ServerState): void {
  for (const uri of state.offline.keys()) scheduleOffline(state, uri);
}

/** Forgets a closed file and clears its diagnostics. */
export function closeOffline(state: ServerState, uri: string): void {
  const entry = state.offline.get(uri);
  if (!entry) return;
  if (entry.timer) clearTimeout(entry.timer);
  state.offline.delete(uri);
  state.connection.sendDiagnostics({ uri, diagnostics: [] });
}

function analyseOffline(state: ServerState, uri: string): void {
  const doc = state.documents.get(uri);
  const entry = state.offline.get(uri);
  if (!doc || !entry) return;
  const analysis = state.analyseSnapshot(doc.getText());
  entry.findings = analysis.findings;
  entry.clock = analysis.model?.status;
  // The file holds every subsystem: each finding and fact points into it.
  entry.documents = () => ({ uri, index: analysis.lines });
  const diagnostics: Diagnostic[] = analysis.errors.slice(0, 100).map((err) => ({
    range: { start: { line: err.line, character: err.column }, end: { line: err.line + 1, character: 0 } },
    severity: DiagnosticSeverity.Error,
    source: SYNTAX_SOURCE,
    message: err.message,
  }));
  diagnostics.push(...findingDiagnostics(analysis.findings, entry.documents, '', false));
  state.connection.sendDiagnostics({ uri, version: doc.version, diagnostics });
}
