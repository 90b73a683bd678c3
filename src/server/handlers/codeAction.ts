/**
 * Quick fixes (`textDocument/codeAction`): one per repair of each finding under the client's
 * diagnostics, the first safe one preferred. On a cluster the finding is pinned as shown, so the
 * repair sends what the user saw; on a snapshot file, or a cluster not live or read-only, they are
 * disabled with the reason (for a client that shows disabled actions; others get none of them).
 */
import { CodeActionKind, type CodeAction, type CodeActionParams } from 'vscode-languageserver/node';
import { LspCommands, repairRefusal, type Finding } from '../../protocol';
import type { DiagnosticData } from '../diagnostics';
import type { ServerState } from '../state';

export async function codeActions(state: ServerState, params: CodeActionParams): Promise<CodeAction[]> {
  try {
    const uri = params.textDocument.uri;
    const actions: CodeAction[] = [];
    const source = state.repairSource(uri);
    const canShowDisabledActions = state.client.canShowDisabledActions;
    for (const diagnostic of params.context.diagnostics) {
      const data = diagnostic.data as Partial<DiagnosticData> | undefined;
      if (!data || typeof data.findingId !== 'string') continue;
      if (!source) continue;
      const finding: Finding | undefined = source.finding(data.findingId);
      const disabled = source.disabled();
      if (!finding) continue;
      // A client without disabledSupport would show a disabled action as runnable: it gets none of them.
      if (disabled && !canShowDisabledActions) continue;
      let preferred = false;
      const status = source.status();
      for (const repair of finding.repairs) {
        const refusal = status && repairRefusal(status, repair.operations);
        const repairDisabled = disabled ?? (refusal ? `${refusal.charAt(0).toUpperCase()}${refusal.slice(1)}` : undefined);
        if (repairDisabled && !canShowDisabledActions) continue;
        const isPreferred: boolean = !preferred && repair.safety === 'safe' && !repairDisabled;
        preferred ||= isPreferred;
        const args = { cluster: source.cluster, findingId: finding.id, repairId: repair.id };
        const title = `${repair.title} (${repair.safety === 'safe' ? 'safe' : 'may lose data'})`;
        actions.push({
          title,
          kind: CodeActionKind.QuickFix,
          diagnostics: [diagnostic],
          isPreferred: isPreferred || undefined,
          disabled: repairDisabled ? { reason: repairDisabled } : undefined,
          // A command this server executes (executeCommandProvider), so any LSP client can run the fix.
          // The VS Code extension runs it through its own confirmation and progress (client middleware).
          command: { title, command: LspCommands.applyRepair, arguments: [args] },
        });
      }
    }
    return actions;
  } catch (e) {
    state.logError('codeAction', e);
    return [];
  }
}
