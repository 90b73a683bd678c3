/**
 * The language server: translates the engine's `ClusterWorkspace` to an LSP
 * connection (diagnostics, code actions, work-done progress, the custom
 * requests of `src/protocol/lsp.ts`) and analyses snapshot files on disk.
 *
 * Every handler catches and logs: a bad request gets an LSP error response,
 * never a crash.
 */
import {
  CodeActionKind,
  ErrorCodes as LspErrorCodes,
  LSPErrorCodes,
  ResponseError,
  TextDocuments,
  TextDocumentSyncKind,
  DiagnosticSeverity,
  ExecuteCommandRequest,
  type CancellationToken,
  type CodeAction,
  type Connection,
  type Diagnostic,
  type ExecuteCommandParams,
  type Hover,
  MarkupKind,
  type InitializeResult,
  type WorkDoneProgressReporter,
  type WorkDoneProgressServerReporter,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { z } from 'zod';
import {
  LSP_COMMANDS,
  LSP_NOTIFICATIONS,
  LSP_REQUESTS,
  LspCommands,
  MAX_TIMELINE_TRANSITIONS,
  SNAPSHOT_LANGUAGE,
  SUBSYSTEMS,
  CLUSTER_SCHEME,
  clusterDocUri,
  clusterKey,
  defaultProtection,
  describeZodError,
  errorDetail,
  errorText,
  formatCount,
  plural,
  parseClusterDocUri,
  type ApplyRepairResult,
  type DidChangeParams,
  type Finding,
  type LspCommandName,
  type LspRequestName,
  type LspResult,
  type Subsystem,
  type SyncProgress,
  type SyncProgressParams,
  repairRefusal,
} from '../protocol';
import { diffClusters, diffSummary, renderDiffText, renderPreviewText, NO_DOCUMENTS, renderSnapshot, type DocumentsOf } from '../analysis';
import type { RuleSettings } from '../engine/checker';
import { connectClusterClient, type LinkFactory } from '../engine/link';
import { analyseSnapshot, SnapshotCancelledError, writeSnapshotFile } from '../engine/offline';
import { readJournal, RepairJournal, repairHistory } from '../engine/journal';
import { isAbsolute } from 'node:path';
import { stuckWorkOf } from '../engine/stuck';
import { treeChildren } from '../engine/tree';
import { ClusterWorkspace } from '../engine/workspace';
import { WorkspaceError, readOnlyReason, type WorkspaceCluster } from '../engine/cluster';
import { OFFLINE_REPAIR_REASON, type RepairHooks } from '../engine/repair-runner';
import { SYNTAX_SOURCE, findingDiagnostics, findingLine, findingsHover, lineRange, type DiagnosticData } from './diagnostics';
import type { ClusterClock } from '../protocol/format';

export { OFFLINE_REPAIR_REASON };

const OFFLINE_DEBOUNCE_MS = 200;
/** A sync's progress goes to the client at most this often (a page of 5,000 entities takes a few ms). */
const SYNC_PROGRESS_EVERY_MS = 200;

const RuleSettingsSchema = z.record(z.string(), z.enum(['error', 'warning', 'info', 'off']));
const MaxTransitionsSchema = z.number().int().nonnegative().max(MAX_TIMELINE_TRANSITIONS);

export interface ServerOptions {
  connect?: LinkFactory;
}

type Progress = WorkDoneProgressReporter & { token?: CancellationToken };

/** The handler of each custom request: params as the table's schema parsed them, its result as the table says. */
type RequestHandlers = {
  [K in LspRequestName]: (
    params: z.output<(typeof LSP_REQUESTS)[K]['params']>,
    token: CancellationToken,
  ) => LspResult<K> | Promise<LspResult<K>>;
};

type CommandHandlers = {
  [K in LspCommandName]: (args: z.output<(typeof LSP_COMMANDS)[K]['args']>, hooks: RepairHooks) => Promise<ApplyRepairResult>;
};

const COMMAND_TITLES: Record<LspCommandName, string> = {
  applyRepair: 'Repairing',
  applyAllSafe: 'Applying all safe repairs',
  undoRepair: 'Undoing a repair',
};

export function startServer(connection: Connection, options: ServerOptions = {}): void {
  const documents = new TextDocuments(TextDocument);
  const offline = new Map<string, { findings: Finding[]; documents?: DocumentsOf; clock?: ClusterClock; timer: NodeJS.Timeout | null }>();
  /** The JSON of the last published diagnostics per document: publish only what changed. */
  const published = new Map<string, string>();
  let canCreateProgress = false;
  let canPullConfiguration = false;
  /** Whether the client shows disabled code actions (VS Code does); other clients get none of them. */
  let canShowDisabledActions = false;

  const log = (message: string) => connection.console.log(message);
  const logError = (what: string, e: unknown) =>
    connection.console.error(`${what}: ${errorDetail(e)}`);

  const workspace = new ClusterWorkspace({ connect: options.connect ?? connectClusterClient, log });
  /** Per cluster (by `clusterKey`) whose sync progress the client was told of: when it was last told, and what. */
  const syncsReported = new Map<string, { at: number; progress: SyncProgress }>();
  workspace.addListener({
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
        if (c.checker.provisionalCount) republish(c);
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
  });

  /** Wraps a handler: validates params, turns failures into LSP errors, never lets one escape. */
  function handle<S extends z.ZodType, R>(name: string, schema: S, fn: (params: z.output<S>, token: CancellationToken) => Promise<R> | R) {
    return async (raw: unknown, token: CancellationToken): Promise<R | ResponseError<void>> => {
      const parsed = schema.safeParse(raw ?? {});
      if (!parsed.success) return new ResponseError(LspErrorCodes.InvalidParams, `${name}: ${describeZodError(parsed.error)}`);
      try {
        return await fn(parsed.data, token);
      } catch (e) {
        if (e instanceof ResponseError) return e;
        if (e instanceof WorkspaceError) return new ResponseError(LspErrorCodes.InvalidParams, e.message);
        logError(name, e);
        return new ResponseError(LspErrorCodes.InternalError, `${name} failed: ${errorText(e)}`);
      }
    };
  }

  // ------------------------------------------------------------- lifecycle --

  connection.onInitialize((params): InitializeResult => {
    canCreateProgress = params.capabilities.window?.workDoneProgress === true;
    canPullConfiguration = params.capabilities.workspace?.configuration === true;
    canShowDisabledActions = params.capabilities.textDocument?.codeAction?.disabledSupport === true;
    const init = params.initializationOptions as { rules?: unknown; timeline?: { maxTransitions?: unknown } } | undefined;
    const rules = parseRules(init?.rules);
    if (rules) workspace.setRules(rules);
    const max = parseMaxTransitions(init?.timeline?.maxTransitions);
    if (max !== null) workspace.setMaxTransitions(max);
    return {
      capabilities: {
        textDocumentSync: TextDocumentSyncKind.Full,
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
        hoverProvider: true,
        executeCommandProvider: { commands: Object.values(LSP_COMMANDS).map((c) => c.command) },
      },
      serverInfo: { name: 'cluster-debugger' },
    };
  });

  connection.onShutdown(() => workspace.dispose());

  connection.onDidChangeConfiguration(async (change: { settings: unknown }) => {
    try {
      let section = (change.settings as { clusterDebugger?: { rules?: unknown; timeline?: { maxTransitions?: unknown } } } | null)?.clusterDebugger;
      if (!section && canPullConfiguration) section = await connection.workspace.getConfiguration('clusterDebugger');
      const max = parseMaxTransitions(section?.timeline?.maxTransitions);
      if (max !== null) workspace.setMaxTransitions(max);
      const next = parseRules(section?.rules);
      if (!next) return;
      log(`rule settings: ${JSON.stringify(next)}`);
      workspace.setRules(next);
      for (const uri of offline.keys()) scheduleOffline(uri);
    } catch (e) {
      logError('didChangeConfiguration', e);
    }
  });

  /** `clusterDebugger.timeline.maxTransitions`, or null when absent or invalid (said in the log). */
  function parseMaxTransitions(raw: unknown): number | null {
    if (raw === undefined || raw === null) return null;
    const parsed = MaxTransitionsSchema.safeParse(raw);
    if (parsed.success) return parsed.data;
    connection.console.warn(`ignoring clusterDebugger.timeline.maxTransitions: ${describeZodError(parsed.error)}`);
    return null;
  }

  function parseRules(raw: unknown): RuleSettings | null {
    if (raw === undefined || raw === null) return null;
    const parsed = RuleSettingsSchema.safeParse(raw);
    if (!parsed.success) {
      connection.console.warn(`ignoring clusterDebugger.rules: ${describeZodError(parsed.error)}`);
      return null;
    }
    return parsed.data as RuleSettings;
  }

  // ------------------------------------------------------- custom requests --

  const requests: RequestHandlers = {
    connect: async (p) => {
      try {
        // A client that does not say gets the level of any cluster but the bundled simulator.
        return await workspace.connect({ ...p, protection: p.protection ?? defaultProtection(false) });
      } catch (e) {
        throw new ResponseError(LSPErrorCodes.RequestFailed, errorText(e));
      }
    },
    disconnect: (p) => {
      workspace.disconnect(p.name);
      return {};
    },
    refresh: async (p) => ({ clusters: await workspace.refresh(p.cluster) }),
    clusters: () => ({ clusters: workspace.infos() }),
    treeChildren: (p) => ({ nodes: treeChildren(workspace.list(), p.subsystem, p.parentId, p.cursor, p.limit) }),
    findings: (p) => ({ findings: workspace.findings(p) }),
    stuckWork: (p) => {
      if (p.cluster !== undefined) workspace.require(p.cluster);
      return { clusters: stuckWorkOf(workspace.list(), p.cluster) };
    },
    plan: (p) => ({ finding: workspace.plan(p.cluster, p.findingId) }),
    // What Repair All Safe would apply first, counted, for the editor's one confirmation.
    planAllSafe: (p) => workspace.summarizeAllSafe(p.cluster),
    topology: (p) => workspace.topology(p),
    preview: async (p) => {
      const preview = await workspace.preview(p);
      const text = preview
        ? renderPreviewText(preview, [`Cluster ${p.cluster} · finding ${p.findingId} · repair ${p.repairId}`])
        : `Finding ${p.findingId} is no longer current on ${p.cluster} (or the cluster has not synced): nothing to preview.\n`;
      return { preview, text };
    },
    setProtection: (p) => workspace.setProtection(p.cluster, p.protection),
    document: (p) => {
      const target = parseClusterDocUri(p.uri);
      if (!target) throw new ResponseError(LspErrorCodes.InvalidParams, `not a cluster document: ${p.uri}`);
      const c = workspace.require(target.cluster);
      const model = c.session.model;
      if (!model) return { text: `# ${c.name}: ${c.session.error ?? `${c.session.state}…`}\n` };
      return { text: c.checker.document(model, target.subsystem).text };
    },
    snapshot: (p) => {
      const c = workspace.require(p.cluster);
      if (!c.session.model) throw new ResponseError(LSPErrorCodes.RequestFailed, `${p.cluster} has not synced yet`);
      return { text: renderSnapshot(c.session.model, { timeline: timelineOf(c) }) };
    },
    compare: (p) => {
      const side = (s: { label: string; text: string }) => {
        const analysis = analyseSnapshot(s.text, workspace.ruleSettings);
        if (!analysis.model) throw new ResponseError(LSPErrorCodes.RequestFailed, `${s.label} is not a cluster snapshot: ${analysis.errors[0]?.message ?? 'nothing could be parsed'}`);
        return { model: analysis.model, findings: analysis.findings };
      };
      const a = side(p.a);
      const b = side(p.b);
      const diff = diffClusters(a, b, { limit: p.limit });
      return {
        identical: diff.identical,
        summary: diffSummary(diff),
        report: renderDiffText(diff, a.model.status, b.model.status, { labels: [p.a.label, p.b.label] }),
        totals: diff.totals,
        findings: {
          appeared: diff.findings.appeared.map((f) => f.id),
          resolved: diff.findings.resolved.map((f) => f.id),
          changed: diff.findings.changed.map((c) => ({ id: c.id, from: c.from, to: c.to })),
        },
      };
    },
    setJournal: async (p) => {
      if (p.path !== null && !isAbsolute(p.path)) throw new ResponseError(LspErrorCodes.InvalidParams, `setJournal: not an absolute path: ${p.path}`);
      workspace.setJournal(p.path === null ? undefined : new RepairJournal(p.path));
      log(p.path === null ? 'repairs are not journalled' : `repair journal: ${p.path}`);
      return {};
    },
    repairHistory: async () => {
      const journal = workspace.journal;
      if (!journal) return { path: null, entries: [], problems: [] };
      const read = await readJournal(journal.path).catch((e) => {
        throw new ResponseError(LSPErrorCodes.RequestFailed, errorText(e));
      });
      return { path: journal.path, entries: repairHistory(read.lines), problems: read.problems };
    },
    timeline: (p) => workspace.timeline(p.cluster, p),
    findEntity: (p) => workspace.findEntity(p),
    saveSnapshot: async (p, token) => {
      const c = workspace.require(p.cluster);
      const model = c.session.model;
      if (!model) throw new ResponseError(LSPErrorCodes.RequestFailed, `${p.cluster} has not synced yet`);
      if (!isAbsolute(p.path)) throw new ResponseError(LspErrorCodes.InvalidParams, `saveSnapshot: not an absolute path: ${p.path}`);
      const progress = p.workDoneToken === undefined ? undefined : connection.window.attachWorkDoneProgress(p.workDoneToken);
      progress?.begin(`Saving a snapshot of ${c.name}`, 0, undefined, true);
      let lastPercent = -1;
      try {
        const written = await writeSnapshotFile(model, p.path, {
          extras: { timeline: timelineOf(c) },
          cancelled: () => token.isCancellationRequested,
          progress: (done, total) => {
            const percent = Math.min(100, Math.floor((100 * done) / total));
            if (percent === lastPercent) return;
            lastPercent = percent;
            progress?.report(percent, `${formatCount(done)} of ${plural(total, 'line')}`);
          },
        });
        log(`saved a snapshot of ${c.name} to ${p.path}: ${written.entities} entities, ${written.bytes} bytes`);
        return { path: p.path, ...written };
      } catch (e) {
        if (e instanceof SnapshotCancelledError) throw new ResponseError(LSPErrorCodes.RequestCancelled, e.message);
        throw new ResponseError(LSPErrorCodes.RequestFailed, `cannot save the snapshot to ${p.path}: ${errorText(e)}`);
      } finally {
        progress?.done();
      }
    },
  };
  for (const name of Object.keys(LSP_REQUESTS) as LspRequestName[]) {
    const spec = LSP_REQUESTS[name];
    connection.onRequest(spec.method, handle(name, spec.params, requests[name] as (p: unknown, t: CancellationToken) => unknown));
  }

  /** A cluster's timeline as a snapshot file carries it. */
  function timelineOf(c: WorkspaceCluster) {
    return { transitions: c.timeline.toArray(), dropped: c.timeline.dropped };
  }

  /** Publishes every subsystem document whose diagnostics differ from what was last sent. */
  function republish(c: WorkspaceCluster): void {
    const model = c.session.model;
    const stale = c.session.state !== 'live' && c.session.state !== 'syncing';
    for (const subsystem of SUBSYSTEMS) {
      const uri = clusterDocUri(c.name, subsystem);
      let diagnostics: Diagnostic[] = [];
      const findings = c.checker.findings(subsystem);
      if (findings.length) {
        // Before the first sync ends, the findings are provisional (from counts) and there is no document yet.
        diagnostics = findingDiagnostics(findings, model ? c.checker.documents(model) : NO_DOCUMENTS, c.name, stale, c.session.syncProgress);
      }
      const json = JSON.stringify(diagnostics);
      if (published.get(uri) === json) continue;
      published.set(uri, json);
      connection.sendDiagnostics({ uri, diagnostics });
    }
  }

  function notifySync(params: SyncProgressParams): void {
    connection.sendNotification(LSP_NOTIFICATIONS.syncProgress.method, params).catch((e) => logError('syncProgress', e));
  }

  function notifyChanged(c: WorkspaceCluster, subsystems: readonly Subsystem[]): void {
    const params: DidChangeParams = { cluster: c.name, subsystems: [...subsystems], state: c.session.state, clusters: workspace.infos() };
    connection.sendNotification(LSP_NOTIFICATIONS.didChange.method, params).catch((e) => logError('didChange', e));
  }

  // ---------------------------------------------------------- code actions --

  connection.onCodeAction(async (params) => {
    try {
      const uri = params.textDocument.uri;
      const actions: CodeAction[] = [];
      const target = parseClusterDocUri(uri);
      const fileFindings = target ? null : offline.get(uri)?.findings;
      const cluster = target ? workspace.get(target.cluster) : undefined;
      for (const diagnostic of params.context.diagnostics) {
        const data = diagnostic.data as Partial<DiagnosticData> | undefined;
        if (!data || typeof data.findingId !== 'string') continue;
        let finding: Finding | undefined;
        let disabled: string | undefined;
        if (cluster) {
          // What the user is shown now is what a repair from it will send.
          finding = workspace.pinCurrent(cluster, data.findingId);
          if (cluster.session.state !== 'live') disabled = `The cluster is ${cluster.session.state}; repairs wait for a live connection`;
          else if (readOnlyReason(cluster)) disabled = `Read-only: ${readOnlyReason(cluster)}`;
        } else if (fileFindings) {
          finding = fileFindings.find((f) => f.id === data.findingId);
          disabled = OFFLINE_REPAIR_REASON;
        }
        if (!finding) continue;
        // A client without disabledSupport would show a disabled action as runnable: it gets none of them.
        if (disabled && !canShowDisabledActions) continue;
        let preferred = false;
        const status = cluster?.session.model?.status;
        for (const repair of finding.repairs) {
          const refusal = status && repairRefusal(status, repair.operations);
          const repairDisabled = disabled ?? (refusal ? `${refusal.charAt(0).toUpperCase()}${refusal.slice(1)}` : undefined);
          if (repairDisabled && !canShowDisabledActions) continue;
          const isPreferred: boolean = !preferred && repair.safety === 'safe' && !repairDisabled;
          preferred ||= isPreferred;
          const args = { cluster: cluster?.name ?? '', findingId: finding.id, repairId: repair.id };
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
      logError('codeAction', e);
      return [];
    }
  });

  // ----------------------------------------------------------------- hovers --

  /** Over a diagnostic's line: the facts its findings rest on, as a "because" list. */
  connection.onHover((params): Hover | null => {
    try {
      const uri = params.textDocument.uri;
      const target = parseClusterDocUri(uri);
      let findings: readonly Finding[] = [];
      let documents: DocumentsOf | undefined;
      // The clock the facts' times are on (the simulator's logical one unless the status says otherwise).
      let clock: ClusterClock = { scenario: '' };
      if (target) {
        const c = workspace.get(target.cluster);
        const model = c?.session.model;
        if (c) {
          findings = c.checker.findings(target.subsystem);
          documents = model ? c.checker.documents(model) : NO_DOCUMENTS;
          if (model) clock = model.status;
        }
      } else {
        const entry = offline.get(uri);
        findings = entry?.findings ?? [];
        documents = entry?.documents;
        if (entry?.clock) clock = entry.clock;
      }
      if (!documents || !findings.length) return null;
      const here = findings.filter((f) => findingLine(f, documents) === params.position.line);
      if (!here.length) return null;
      return {
        contents: { kind: MarkupKind.Markdown, value: findingsHover(here, documents, clock) },
        range: lineRange(params.position.line),
      };
    } catch (e) {
      logError('hover', e);
      return null;
    }
  });

  // --------------------------------------------------------------- repairs --

  const commands: CommandHandlers = {
    applyRepair: (args, hooks) => workspace.applyRepair(args, hooks),
    applyAllSafe: (args, hooks) => workspace.applyAllSafe(args.cluster, hooks),
    undoRepair: async (args, hooks) => {
      try {
        return await workspace.undoRepair(args, hooks);
      } catch (e) {
        // No such repair, or one that cannot be undone: an answer in words, not a failure of the server.
        return { ok: false, applied: 0, refused: 0, summary: `Refused: ${errorText(e)}`, details: [], resolved: false };
      }
    },
  };

  // Not `onExecuteCommand`: it deletes `workDoneToken` from the params before calling its handler, so the
  // client's own progress (which we must report to) would look like none (and get a second one of ours).
  connection.onRequest(ExecuteCommandRequest.type, async (params: ExecuteCommandParams, token: CancellationToken) => {
    const name = (Object.keys(LSP_COMMANDS) as LspCommandName[]).find((k) => LSP_COMMANDS[k].command === params.command);
    if (!name) return new ResponseError(LspErrorCodes.InvalidParams, `unknown command ${params.command}`);
    const parsed = LSP_COMMANDS[name].args.safeParse(params.arguments?.[0]);
    if (!parsed.success) return new ResponseError(LspErrorCodes.InvalidParams, `${name}: ${describeZodError(parsed.error)}`);
    let progress: Progress | undefined;
    try {
      const workDone = connection.window.attachWorkDoneProgress(params.workDoneToken);
      progress = await progressFor(workDone, params.workDoneToken !== undefined, COMMAND_TITLES[name]);
      const reporter = progress;
      const hooks: RepairHooks = {
        cancelled: () => token.isCancellationRequested || (reporter?.token?.isCancellationRequested ?? false),
        progress: (done, total, message) => reporter?.report(total ? Math.round((100 * done) / total) : 100, message),
      };
      return await (commands[name] as (a: unknown, h: RepairHooks) => Promise<ApplyRepairResult>)(parsed.data, hooks);
    } catch (e) {
      if (e instanceof ResponseError) return e;
      logError(`executeCommand ${params.command}`, e);
      return new ResponseError(LspErrorCodes.InternalError, `${params.command} failed: ${errorText(e)}`);
    } finally {
      progress?.done();
    }
  });

  /**
   * The client's own progress (from `workDoneToken`) cancels through the request's token; one the
   * server creates has its own Cancel, so `cancelled` checks both.
   */
  async function progressFor(given: WorkDoneProgressReporter, clientToken: boolean, title: string): Promise<Progress | undefined> {
    let reporter: Progress | undefined = clientToken ? given : undefined;
    if (!reporter && canCreateProgress) reporter = (await connection.window.createWorkDoneProgress()) as WorkDoneProgressServerReporter;
    reporter?.begin(title, 0, undefined, true);
    return reporter;
  }

  // ------------------------------------------------------ offline snapshots --

  documents.onDidChangeContent((e: { document: TextDocument }) => {
    if (isSnapshotFile(e.document)) scheduleOffline(e.document.uri);
  });
  documents.onDidClose((e: { document: TextDocument }) => {
    const entry = offline.get(e.document.uri);
    if (!entry) return;
    if (entry.timer) clearTimeout(entry.timer);
    offline.delete(e.document.uri);
    connection.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
  });

  function isSnapshotFile(doc: TextDocument): boolean {
    // `cluster:` documents are ours already; only files on disk (or unsaved ones) are analysed here.
    return doc.languageId === SNAPSHOT_LANGUAGE && !doc.uri.startsWith(`${CLUSTER_SCHEME}:`);
  }

  function scheduleOffline(uri: string): void {
    let entry = offline.get(uri);
    if (!entry) offline.set(uri, (entry = { findings: [], timer: null }));
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = setTimeout(() => {
      entry!.timer = null;
      try {
        analyseOffline(uri);
      } catch (e) {
        logError(`snapshot ${uri}`, e);
      }
    }, OFFLINE_DEBOUNCE_MS);
  }

  function analyseOffline(uri: string): void {
    const doc = documents.get(uri);
    const entry = offline.get(uri);
    if (!doc || !entry) return;
    const analysis = analyseSnapshot(doc.getText(), workspace.ruleSettings);
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
    connection.sendDiagnostics({ uri, version: doc.version, diagnostics });
  }

  documents.listen(connection);
  connection.listen();
  log('cluster-debugger language server ready');
}
