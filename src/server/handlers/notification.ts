/**
 * The notification handlers (rust-analyzer's `handlers/notification`): the settings changed, a
 * snapshot file was edited or closed. Each is given the server's one state; a notification has no
 * response, so a failure is only logged.
 */
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { parseMaxTransitions, parseRules, type SettingsSection } from '../config';
import { closeOffline, isSnapshotFile, rescheduleAllOffline, scheduleOffline } from '../offline';
import type { ServerState } from '../state';

export async function didChangeConfiguration(state: ServerState, change: { settings: unknown }): Promise<void> {
  try {
    let section = (change.settings as { clusterDebugger?: SettingsSection } | null)?.clusterDebugger;
    if (!section && state.client.canPullConfiguration) section = await state.connection.workspace.getConfiguration('clusterDebugger');
    const max = parseMaxTransitions(state, section?.timeline?.maxTransitions);
    if (max !== null) state.setMaxTransitions(max);
    const next = parseRules(state, section?.rules);
    if (!next) return;
    state.log(`rule settings: ${JSON.stringify(next)}`);
    state.setRules(next);
    rescheduleAllOffline(state);
  } catch (e) {
    state.logError('didChangeConfiguration', e);
  }
}

export function didChangeContent(state: ServerState, document: TextDocument): void {
  if (isSnapshotFile(document)) scheduleOffline(state, document.uri);
}

export function didClose(state: ServerState, document: TextDocument): void {
  closeOffline(state, document.uri);
}
