/** Builds the language client: the server is `out/server.js` from the extension's own folder. */
import { ExtensionContext, LogOutputChannel, workspace } from 'vscode';
import {
  CloseAction,
  ErrorAction,
  ErrorHandler,
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  TransportKind,
} from 'vscode-languageclient/node';
import { CONFIG_SECTION } from '../../protocol/config';
import { CLUSTER_SCHEME, SNAPSHOT_LANGUAGE } from '../../protocol/uri';
import { rulesSetting, timelineSetting } from '../config';

export const LANGUAGE_ID = SNAPSHOT_LANGUAGE;
/** Restarts allowed after the server crashes, before we leave it stopped and say so. */
const MAX_RESTARTS = 4;

export interface ClientHooks {
  /** The connection to the server broke for good (no more restarts). */
  onFatal(reason: string): void;
  onRestart(): void;
  /**
   * Runs one of the server's commands when VS Code invokes it (a quick fix, say): vscode-languageclient
   * registers a VS Code command for each command the server advertises, and calls this instead of
   * sending it; `next` sends it as is.
   */
  executeCommand(command: string, args: unknown[], next: (command: string, args: unknown[]) => unknown): unknown;
}

export function createClient(context: ExtensionContext, log: LogOutputChannel, hooks: ClientHooks): LanguageClient {
  const module = context.asAbsolutePath('out/server.js');
  // TransportKind.ipc forks with the host's own runtime (Electron as Node, or code-server's Node): no `node` on PATH needed.
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.ipc },
    debug: { module, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6011'] } },
  };
  let restarts = 0;
  const errorHandler: ErrorHandler = {
    error: (error, _message, count) => {
      log.error(`Language server connection error (${count ?? 1}): ${error.message}`);
      return { action: (count ?? 1) <= 3 ? ErrorAction.Continue : ErrorAction.Shutdown, handled: true };
    },
    closed: () => {
      restarts++;
      if (restarts <= MAX_RESTARTS) {
        log.warn(`The language server stopped; restarting (${restarts}/${MAX_RESTARTS}).`);
        hooks.onRestart();
        return { action: CloseAction.Restart, handled: true };
      }
      const reason = `it stopped ${restarts} times; not restarting again`;
      log.error(`The language server ${reason}.`);
      hooks.onFatal(reason);
      return { action: CloseAction.DoNotRestart, handled: true };
    },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: 'file', language: LANGUAGE_ID },
      { scheme: CLUSTER_SCHEME, language: LANGUAGE_ID },
    ],
    initializationOptions: () => ({ rules: rulesSetting(), timeline: { maxTransitions: timelineSetting() } }),
    synchronize: { configurationSection: CONFIG_SECTION },
    outputChannel: log,
    errorHandler,
    // Quick-fix titles and hovers come from our own server; its markdown may use codicons.
    markdown: { isTrusted: false, supportThemeIcons: true },
    workspaceFolder: workspace.workspaceFolders?.[0],
    middleware: {
      executeCommand: (command, args, next) => hooks.executeCommand(command, args, next),
    },
  };
  return new LanguageClient('clusterDebugger', 'Cluster Debugger', serverOptions, clientOptions);
}
