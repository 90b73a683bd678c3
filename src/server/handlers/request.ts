/**
 * The request handlers (rust-analyzer's `handlers/request`): `initialize`, `shutdown` and the custom
 * requests of `src/protocol/lsp.ts`. Each is given the server's one state; what they read of the
 * workspace, its models and the analysis goes through it.
 */
import {
  CodeActionKind,
  ErrorCodes as LspErrorCodes,
  LSPErrorCodes,
  ResponseError,
  TextDocumentSyncKind,
  type InitializeParams,
  type InitializeResult,
} from 'vscode-languageserver/node';
import type { z } from 'zod';
import { isAbsolute } from 'node:path';
import {
  LSP_COMMANDS,
  LSP_REQUESTS,
  defaultProtection,
  errorText,
  formatCount,
  plural,
  parseClusterDocUri,
  type LspRequestName,
  type LspResult,
} from '../../protocol';
import { parseMaxTransitions, parseRules, type SettingsSection } from '../config';
import { SnapshotCancelledError, type ServerState } from '../state';
import type { Handler } from './dispatch';

// ------------------------------------------------------------- lifecycle --

export function initialize(state: ServerState, params: InitializeParams): InitializeResult {
  state.client.canCreateProgress = params.capabilities.window?.workDoneProgress === true;
  state.client.canPullConfiguration = params.capabilities.workspace?.configuration === true;
  state.client.canShowDisabledActions = params.capabilities.textDocument?.codeAction?.disabledSupport === true;
  const init = params.initializationOptions as SettingsSection | undefined;
  const rules = parseRules(state, init?.rules);
  if (rules) state.setRules(rules);
  const max = parseMaxTransitions(state, init?.timeline?.maxTransitions);
  if (max !== null) state.setMaxTransitions(max);
  return {
    capabilities: {
      textDocumentSync: TextDocumentSyncKind.Full,
      codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
      hoverProvider: true,
      executeCommandProvider: { commands: Object.values(LSP_COMMANDS).map((c) => c.command) },
    },
    serverInfo: { name: 'cluster-debugger' },
  };
}

export function shutdown(state: ServerState): void {
  state.dispose();
}

// ------------------------------------------------------- custom requests --

/** The handler of each custom request: params as the table's schema parsed them, its result as the table says. */
type RequestHandlers = {
  [K in LspRequestName]: Handler<z.output<(typeof LSP_REQUESTS)[K]['params']>, LspResult<K>>;
};

export const requests: RequestHandlers = {
  connect: async (state, p) => {
    try {
      // A client that does not say gets the level of any cluster but the bundled simulator.
      return await state.connect({ ...p, protection: p.protection ?? defaultProtection(false) });
    } catch (e) {
      throw new ResponseError(LSPErrorCodes.RequestFailed, errorText(e));
    }
  },
  disconnect: (state, p) => {
    state.disconnect(p.name);
    return {};
  },
  refresh: async (state, p) => ({ clusters: await state.refresh(p.cluster) }),
  clusters: (state) => ({ clusters: state.clusters() }),
  treeChildren: (state, p) => ({ nodes: state.treeChildren(p) }),
  findings: (state, p) => ({ findings: state.findings(p) }),
  stuckWork: (state, p) => ({ clusters: state.stuckWork(p.cluster) }),
  plan: (state, p) => ({ finding: state.plan(p.cluster, p.findingId) }),
  // What Repair All Safe would apply first, counted, for the editor's one confirmation.
  planAllSafe: (state, p) => state.planAllSafe(p.cluster),
  topology: (state, p) => state.topology(p),
  preview: (state, p) => state.preview(p),
  setProtection: (state, p) => state.setProtection(p.cluster, p.protection),
  document: (state, p) => {
    const target = parseClusterDocUri(p.uri);
    if (!target) throw new ResponseError(LspErrorCodes.InvalidParams, `not a cluster document: ${p.uri}`);
    return { text: state.documentText(target.cluster, target.subsystem) };
  },
  snapshot: (state, p) => {
    const snapshot = state.snapshotOf(p.cluster);
    if (!snapshot) throw new ResponseError(LSPErrorCodes.RequestFailed, `${p.cluster} has not synced yet`);
    return { text: snapshot.text() };
  },
  compare: (state, p) => state.compare(p.a, p.b, p.limit),
  setJournal: async (state, p) => {
    if (p.path !== null && !isAbsolute(p.path))
      throw new ResponseError(LspErrorCodes.InvalidParams, `setJournal: not an absolute path: ${p.path}`);
    state.setJournal(p.path);
    return {};
  },
  repairHistory: (state) => state.repairHistory(),
  timeline: (state, p) => state.timeline(p.cluster, p),
  findEntity: (state, p) => state.findEntity(p),
  saveSnapshot: async (state, p, token) => {
    const snapshot = state.snapshotOf(p.cluster);
    if (!snapshot) throw new ResponseError(LSPErrorCodes.RequestFailed, `${p.cluster} has not synced yet`);
    if (!isAbsolute(p.path)) throw new ResponseError(LspErrorCodes.InvalidParams, `saveSnapshot: not an absolute path: ${p.path}`);
    const progress = p.workDoneToken === undefined ? undefined : state.connection.window.attachWorkDoneProgress(p.workDoneToken);
    progress?.begin(`Saving a snapshot of ${snapshot.name}`, 0, undefined, true);
    let lastPercent = -1;
    try {
      const written = await snapshot.write(p.path, {
        cancelled: () => token.isCancellationRequested,
        progress: (done, total) => {
          const percent = Math.min(100, Math.floor((100 * done) / total));
          if (percent === lastPercent) return;
          lastPercent = percent;
          progress?.report(percent, `${formatCount(done)} of ${plural(total, 'line')}`);
        },
      });
      state.log(`saved a snapshot of ${snapshot.name} to ${p.path}: ${written.entities} entities, ${written.bytes} bytes`);
      return { path: p.path, ...written };
    } catch (e) {
      if (e instanceof SnapshotCancelledError) throw new ResponseError(LSPErrorCodes.RequestCancelled, e.message);
      throw new ResponseError(LSPErrorCodes.RequestFailed, `cannot save the snapshot to ${p.path}: ${errorText(e)}`);
    } finally {
      progress?.done();
    }
  },
};
