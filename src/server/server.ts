/**
 * The language server: translates the engine's `ClusterWorkspace` to an LSP
 * connection (diagnostics, code actions, work-done progress, the custom
 * requests of `src/protocol/lsp.ts`) and analyses snapshot files on disk.
 *
 * This file only wires: it makes the one `ServerState` (`state.ts`) and
 * registers the handlers, which live by kind in `handlers/` (requests,
 * notifications, commands, code actions, hover), as rust-analyzer's
 * `handlers/{request,notification}` do. What the server sends of its own
 * accord is `publish.ts`; snapshot files open in the editor are `offline.ts`.
 *
 * Every handler catches and logs: a bad request gets an LSP error response,
 * never a crash.
 */
import { ExecuteCommandRequest, type CancellationToken, type Connection, type ExecuteCommandParams } from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { LSP_REQUESTS, type LspRequestName } from '../protocol';
import { codeActions } from './handlers/codeAction';
import { executeCommand } from './handlers/commands';
import { handle, type Handler } from './handlers/dispatch';
import { hover } from './handlers/hover';
import { didChangeConfiguration, didChangeContent, didClose } from './handlers/notification';
import { initialize, requests, shutdown } from './handlers/request';
import { workspacePublisher } from './publish';
import { ServerState, type ServerOptions } from './state';

export { OFFLINE_REPAIR_REASON } from './state';
export type { ServerOptions };

export function startServer(connection: Connection, options: ServerOptions = {}): void {
  const state = new ServerState(connection, options);
  state.addListener(workspacePublisher(state));

  connection.onInitialize((params) => initialize(state, params));
  connection.onShutdown(() => shutdown(state));
  connection.onDidChangeConfiguration((change: { settings: unknown }) => didChangeConfiguration(state, change));

  for (const name of Object.keys(LSP_REQUESTS) as LspRequestName[]) {
    const spec = LSP_REQUESTS[name];
    connection.onRequest(spec.method, handle(state, name, spec.params, requests[name] as Handler<unknown, unknown>));
  }

  connection.onCodeAction((params) => codeActions(state, params));
  connection.onHover((params) => hover(state, params));
  // Not `onExecuteCommand`: see `executeCommand`.
  connection.onRequest(ExecuteCommandRequest.type, (params: ExecuteCommandParams, token: CancellationToken) =>
    executeCommand(state, params, token),
  );

  state.documents.onDidChangeContent((e: { document: TextDocument }) => didChangeContent(state, e.document));
  state.documents.onDidClose((e: { document: TextDocument }) => didClose(state, e.document));

  state.documents.listen(connection);
  connection.listen();
  state.log('cluster-debugger language server ready');
}
