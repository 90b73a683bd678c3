/**
 * The language server: wires cluster sessions, checks, diagnostics, trees,
 * documents, code actions and repairs to an LSP connection.
 *
 * The engine parts (session, checker, repairs, tree, offline) know nothing of
 * LSP; this file only translates. Every handler catches and logs: a bad
 * request gets an LSP error response, never a crash.
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
  type InitializeResult,
  type WorkDoneProgressReporter,
  type WorkDoneProgressServerReporter,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { z } from 'zod';
import {
  ApplyAllSafeArgs,
  ApplyRepairArgs,
  ConnectParams,
  DisconnectParams,
  DocumentParams,
  FindingsParams,
  LspCommands,
  LspMethods,
  RefreshParams,
  SnapshotParams,
  SUBSYSTEMS,
  TreeChildrenParams,
  describeZodError,
  errorText,
  type ApplyRepairResult,
  type ClusterInfo,
  type DidChangeParams,
  type Finding,
  type FindingSummary,
  type Subsystem,
} from '../protocol';
import { renderSnapshot } from '../analysis';
import { ClusterChecker, type RuleSettings } from '../engine/checker';
import { SYNTAX_SOURCE, findingDiagnostics, type DiagnosticData } from './diagnostics';
import { connectClusterClient, type LinkFactory } from '../engine/link';
import { analyseSnapshot } from '../engine/offline';
import { executeRepair } from '../engine/repairs';
import { ClusterSession } from '../engine/session';
import { treeChildren } from '../engine/tree';
import { SNAPSHOT_LANGUAGE, clusterDocUri, parseClusterDocUri } from '../protocol/uri';

/** Events arrive in bursts; checks and renders run once per burst, not per event. */
const CHECK_DEBOUNCE_MS = 150;
const OFFLINE_DEBOUNCE_MS = 200;
/** How long to wait for a repair's own events before falling back to a full resync. */
const REPAIR_CATCH_UP_MS = 10_000;
export const OFFLINE_REPAIR_REASON = 'Repairs need a live connection to the cluster';

const RuleSettingsSchema = z.record(z.string(), z.enum(['error', 'warning', 'info', 'off']));

interface Cluster {
  session: ClusterSession;
  checker: ClusterChecker;
  timer: NodeJS.Timeout | null;
  checking: Promise<void> | null;
  /** How long the last check took: the next one waits at least as long, so checks use at most half the CPU. */
  lastCheckMs: number;
  /** The JSON of the last published diagnostics per document: publish only what changed. */
  published: Map<string, string>;
  /**
   * The finding as the user last saw it (code actions, findings list). A
   * repair sends that plan, so whatever moved on since is refused by the
   * cluster, like eslint refuses a fix for a changed document version.
   */
  pinned: Map<string, Finding>;
}

export interface ServerOptions {
  connect?: LinkFactory;
}

export function startServer(connection: Connection, options: ServerOptions = {}): void {
  const connect = options.connect ?? connectClusterClient;
  const clusters = new Map<string, Cluster>();
  const documents = new TextDocuments(TextDocument);
  const offline = new Map<string, { findings: Finding[]; timer: NodeJS.Timeout | null }>();
  let rules: RuleSettings = {};
  let canCreateProgress = false;
  let canPullConfiguration = false;

  const log = (message: string) => connection.console.log(message);
  const logError = (what: string, e: unknown) =>
    connection.console.error(`${what}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);

  /** Wraps a handler: validates params, turns failures into LSP errors, never lets one escape. */
  function handle<S extends z.ZodType, R>(name: string, schema: S, fn: (params: z.infer<S>, token: CancellationToken) => Promise<R> | R) {
    return async (raw: unknown, token: CancellationToken): Promise<R | ResponseError<void>> => {
      const parsed = schema.safeParse(raw ?? {});
      if (!parsed.success) return new ResponseError(LspErrorCodes.InvalidParams, `${name}: ${describeZodError(parsed.error)}`);
      try {
        return await fn(parsed.data, token);
      } catch (e) {
        if (e instanceof ResponseError) return e;
        logError(name, e);
        return new ResponseError(LspErrorCodes.InternalError, `${name} failed: ${errorText(e)}`);
      }
    };
  }

  function find(name: string): Cluster {
    const c = clusters.get(name.toLowerCase());
    if (!c) throw new ResponseError(LspErrorCodes.InvalidParams, `no cluster named ${name} is connected`);
    return c;
  }

  // ------------------------------------------------------------- lifecycle --

  connection.onInitialize((params): InitializeResult => {
    canCreateProgress = params.capabilities.window?.workDoneProgress === true;
    canPullConfiguration = params.capabilities.workspace?.configuration === true;
    const init = params.initializationOptions as { rules?: unknown } | undefined;
    rules = parseRules(init?.rules) ?? {};
    return {
      capabilities: {
        textDocumentSync: TextDocumentSyncKind.Full,
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
        executeCommandProvider: { commands: [LspCommands.applyRepair, LspCommands.applyAllSafe] },
      },
      serverInfo: { name: 'cluster-debugger' },
    };
  });

  connection.onShutdown(() => {
    for (const c of clusters.values()) c.session.dispose();
  });

  connection.onDidChangeConfiguration(async (change: { settings: unknown }) => {
    try {
      let section = (change.settings as { clusterDebugger?: { rules?: unknown } } | null)?.clusterDebugger;
      if (!section && canPullConfiguration) section = await connection.workspace.getConfiguration('clusterDebugger');
      const next = parseRules(section?.rules);
      if (!next) return;
      rules = next;
      log(`rule settings: ${JSON.stringify(rules)}`);
      for (const c of clusters.values()) {
        c.checker.setRules(rules);
        scheduleCheck(c, 0);
      }
      for (const uri of offline.keys()) scheduleOffline(uri);
    } catch (e) {
      logError('didChangeConfiguration', e);
    }
  });

  function parseRules(raw: unknown): RuleSettings | null {
    if (raw === undefined || raw === null) return null;
    const parsed = RuleSettingsSchema.safeParse(raw);
    if (!parsed.success) {
      connection.console.warn(`ignoring clusterDebugger.rules: ${describeZodError(parsed.error)}`);
      return null;
    }
    return parsed.data as RuleSettings;
  }

  // ----------------------------------------------------------- connections --

  connection.onRequest(
    LspMethods.connect,
    handle('connect', ConnectParams, async (p) => {
      const key = p.name.toLowerCase();
      const existing = clusters.get(key);
      if (existing) {
        existing.session.dispose();
        clusters.delete(key);
      }
      const session = new ClusterSession({ name: p.name, url: p.url, token: p.token, connect, log, reconnect: true });
      const cluster: Cluster = {
        session,
        checker: new ClusterChecker(p.name, rules),
        timer: null,
        checking: null,
        lastCheckMs: 0,
        published: new Map(),
        pinned: new Map(),
      };
      clusters.set(key, cluster);
      session.addListener({
        stateChanged: () => {
          // Stale or live again: the diagnostics' "[stale]" marker changes.
          republish(cluster);
          notifyChanged(cluster, [...SUBSYSTEMS]);
        },
        modelChanged: (_s, dirty) => {
          cluster.checker.markDirty(dirty);
          scheduleCheck(cluster, Math.max(CHECK_DEBOUNCE_MS, cluster.lastCheckMs));
        },
      });
      notifyChanged(cluster, [...SUBSYSTEMS]);
      try {
        await session.start();
      } catch (e) {
        // Keep the entry so the tree can show an error node; the user reconnects explicitly.
        session.dispose();
        session.error = errorText(e);
        session.state = 'disconnected';
        notifyChanged(cluster, [...SUBSYSTEMS]);
        throw new ResponseError(LSPErrorCodes.RequestFailed, `cannot connect to ${p.name}: ${errorText(e)}`);
      }
      await flushChecks(cluster);
      return info(cluster);
    }),
  );

  connection.onRequest(
    LspMethods.disconnect,
    handle('disconnect', DisconnectParams, (p) => {
      const cluster = find(p.name);
      cluster.session.dispose();
      if (cluster.timer) clearTimeout(cluster.timer);
      clusters.delete(p.name.toLowerCase());
      for (const s of SUBSYSTEMS) connection.sendDiagnostics({ uri: clusterDocUri(cluster.session.name, s), diagnostics: [] });
      notifyChanged(cluster, [...SUBSYSTEMS]);
      return {};
    }),
  );

  connection.onRequest(
    LspMethods.refresh,
    handle('refresh', RefreshParams, async (p) => {
      const targets = p.cluster ? [find(p.cluster)] : [...clusters.values()];
      for (const c of targets) {
        if (c.session.state === 'stale' || c.session.state === 'disconnected') continue; // reconnect resyncs
        await c.session.resync();
        await flushChecks(c);
      }
      return { clusters: targets.map(info) };
    }),
  );

  connection.onRequest(
    LspMethods.clusters,
    handle('clusters', z.unknown(), () => ({ clusters: [...clusters.values()].map(info) })),
  );

  function info(c: Cluster): ClusterInfo {
    const problems = Object.fromEntries(SUBSYSTEMS.map((s) => [s, c.checker.findings(s).length])) as Record<Subsystem, number>;
    const all = c.checker.findings();
    return {
      name: c.session.name,
      url: c.session.url,
      state: c.session.state,
      error: c.session.error,
      status: c.session.model?.status ?? null,
      problems,
      errors: all.filter((f) => f.severity === 'error').length,
      warnings: all.filter((f) => f.severity === 'warning').length,
    };
  }

  // ---------------------------------------------------------------- checks --

  function scheduleCheck(c: Cluster, delayMs: number): void {
    if (c.timer) return;
    c.timer = setTimeout(() => {
      c.timer = null;
      flushChecks(c).catch((e) => logError(`checks of ${c.session.name}`, e));
    }, delayMs);
  }

  /** Runs pending checks now (and waits for one already running), then publishes. */
  async function flushChecks(c: Cluster): Promise<void> {
    if (c.timer) {
      clearTimeout(c.timer);
      c.timer = null;
    }
    while (c.checking) await c.checking;
    if (!c.checker.hasDirty || !c.session.model) return;
    c.checking = (async () => {
      try {
        await c.session.refreshStatus().catch((e) => log(`[${c.session.name}] status refresh failed: ${errorText(e)}`));
        const model = c.session.model;
        if (!model) return;
        const started = Date.now();
        const changed = c.checker.recheck(model);
        c.lastCheckMs = Date.now() - started;
        for (const id of c.pinned.keys()) if (!c.checker.finding(id)) c.pinned.delete(id);
        log(`[${c.session.name}] checked ${changed.join(', ') || 'nothing new'} in ${Date.now() - started} ms`);
        republish(c);
        if (changed.length) notifyChanged(c, changed);
      } finally {
        c.checking = null;
      }
    })();
    await c.checking;
  }

  /** Publishes every subsystem document whose diagnostics differ from what was last sent. */
  function republish(c: Cluster): void {
    const model = c.session.model;
    const stale = c.session.state !== 'live' && c.session.state !== 'syncing';
    for (const subsystem of SUBSYSTEMS) {
      const uri = clusterDocUri(c.session.name, subsystem);
      let diagnostics: Diagnostic[] = [];
      const findings = c.checker.findings(subsystem);
      if (model && findings.length) {
        diagnostics = findingDiagnostics(findings, uri, c.checker.document(model, subsystem), c.session.name, stale);
      }
      const json = JSON.stringify(diagnostics);
      if (c.published.get(uri) === json) continue;
      c.published.set(uri, json);
      connection.sendDiagnostics({ uri, diagnostics });
    }
  }

  function notifyChanged(c: Cluster, subsystems: Subsystem[]): void {
    const params: DidChangeParams = { cluster: c.session.name, subsystems, state: c.session.state };
    connection.sendNotification(LspMethods.didChange, params).catch((e) => logError('didChange', e));
  }

  // ----------------------------------------------------- trees, documents --

  connection.onRequest(
    LspMethods.treeChildren,
    handle('treeChildren', TreeChildrenParams, (p) => ({
      nodes: treeChildren([...clusters.values()], p.subsystem, p.parentId, p.cursor, p.limit),
    })),
  );

  connection.onRequest(
    LspMethods.findings,
    handle('findings', FindingsParams, (p) => {
      const out: FindingSummary[] = [];
      for (const c of clusters.values()) {
        if (p.cluster && c.session.name.toLowerCase() !== p.cluster.toLowerCase()) continue;
        for (const f of c.checker.findings(p.subsystem)) {
          c.pinned.set(f.id, f);
          out.push({
            ...f,
            cluster: c.session.name,
            repairs: f.repairs.map((r) => ({ id: r.id, title: r.title, safety: r.safety, targetCount: r.targetCount, description: r.description })),
          });
        }
      }
      return { findings: out };
    }),
  );

  connection.onRequest(
    LspMethods.document,
    handle('document', DocumentParams, (p) => {
      const target = parseClusterDocUri(p.uri);
      if (!target) throw new ResponseError(LspErrorCodes.InvalidParams, `not a cluster document: ${p.uri}`);
      const c = find(target.cluster);
      const model = c.session.model;
      if (!model) {
        return { text: `# ${c.session.name}: ${c.session.error ?? `${c.session.state}…`}\n` };
      }
      return { text: c.checker.document(model, target.subsystem).text };
    }),
  );

  connection.onRequest(
    LspMethods.snapshot,
    handle('snapshot', SnapshotParams, (p) => {
      const c = find(p.cluster);
      if (!c.session.model) throw new ResponseError(LSPErrorCodes.RequestFailed, `${p.cluster} has not synced yet`);
      return { text: renderSnapshot(c.session.model) };
    }),
  );

  // ---------------------------------------------------------- code actions --

  connection.onCodeAction(async (params) => {
    try {
      const uri = params.textDocument.uri;
      const actions: CodeAction[] = [];
      const target = parseClusterDocUri(uri);
      const fileFindings = target ? null : offline.get(uri)?.findings;
      const cluster = target ? clusters.get(target.cluster) : undefined;
      for (const diagnostic of params.context.diagnostics) {
        const data = diagnostic.data as Partial<DiagnosticData> | undefined;
        if (!data || typeof data.findingId !== 'string') continue;
        let finding: Finding | undefined;
        let disabled: string | undefined;
        if (cluster) {
          finding = cluster.checker.finding(data.findingId);
          if (finding) cluster.pinned.set(finding.id, finding);
          if (cluster.session.state !== 'live') disabled = `The cluster is ${cluster.session.state}; repairs wait for a live connection`;
        } else if (fileFindings) {
          finding = fileFindings.find((f) => f.id === data.findingId);
          disabled = OFFLINE_REPAIR_REASON;
        }
        if (!finding) continue;
        let preferred = false;
        for (const repair of finding.repairs) {
          const isPreferred: boolean = !preferred && repair.safety === 'safe' && !disabled;
          preferred ||= isPreferred;
          const args = { cluster: cluster?.session.name ?? '', findingId: finding.id, repairId: repair.id };
          const title = `${repair.title} (${repair.safety === 'safe' ? 'safe' : 'may lose data'})`;
          actions.push({
            title,
            kind: CodeActionKind.QuickFix,
            diagnostics: [diagnostic],
            isPreferred: isPreferred || undefined,
            disabled: disabled ? { reason: disabled } : undefined,
            command: { title, command: LspCommands.repairFinding, arguments: [args] },
          });
        }
      }
      return actions;
    } catch (e) {
      logError('codeAction', e);
      return [];
    }
  });

  // --------------------------------------------------------------- repairs --

  // Not `onExecuteCommand`: it deletes `workDoneToken` from the params before calling its handler, so the
  // client's own progress (which we must report to) would look like none (and get a second one of ours).
  connection.onRequest(ExecuteCommandRequest.type, async (params: ExecuteCommandParams, token: CancellationToken) => {
    const workDone = connection.window.attachWorkDoneProgress(params.workDoneToken);
    try {
      const arg = params.arguments?.[0];
      if (params.command === LspCommands.applyRepair) {
        const parsed = ApplyRepairArgs.safeParse(arg);
        if (!parsed.success) return new ResponseError(LspErrorCodes.InvalidParams, `applyRepair: ${describeZodError(parsed.error)}`);
        const progress = await progressFor(workDone, params.workDoneToken !== undefined, 'Repairing');
        try {
          return await applyRepair(parsed.data, token, progress);
        } finally {
          progress?.done();
        }
      }
      if (params.command === LspCommands.applyAllSafe) {
        const parsed = ApplyAllSafeArgs.safeParse(arg);
        if (!parsed.success) return new ResponseError(LspErrorCodes.InvalidParams, `applyAllSafe: ${describeZodError(parsed.error)}`);
        const progress = await progressFor(workDone, params.workDoneToken !== undefined, 'Applying all safe repairs');
        try {
          return await applyAllSafe(parsed.data.cluster, token, progress);
        } finally {
          progress?.done();
        }
      }
      return new ResponseError(LspErrorCodes.InvalidParams, `unknown command ${params.command}`);
    } catch (e) {
      if (e instanceof ResponseError) return e;
      logError(`executeCommand ${params.command}`, e);
      return new ResponseError(LspErrorCodes.InternalError, `${params.command} failed: ${errorText(e)}`);
    }
  });

  async function progressFor(given: WorkDoneProgressReporter, clientToken: boolean, title: string) {
    // The client's own token (from `workDoneToken`) cancels through the request's token; a server-created one has its own.
    let reporter: (WorkDoneProgressReporter & { token?: CancellationToken }) | undefined = clientToken ? given : undefined;
    if (!reporter && canCreateProgress) reporter = (await connection.window.createWorkDoneProgress()) as WorkDoneProgressServerReporter;
    reporter?.begin(title, 0, undefined, true);
    return reporter;
  }

  function refusal(summary: string): ApplyRepairResult {
    log(`repair refused: ${summary}`);
    return { ok: false, applied: 0, refused: 0, summary, details: [], resolved: false };
  }

  async function applyRepair(
    args: ApplyRepairArgs,
    token: CancellationToken,
    progress: (WorkDoneProgressReporter & { token?: CancellationToken }) | undefined,
  ): Promise<ApplyRepairResult> {
    if (!args.cluster) return refusal(OFFLINE_REPAIR_REASON);
    const c = clusters.get(args.cluster.toLowerCase());
    if (!c) return refusal(`Refused: no cluster named ${args.cluster} is connected`);
    if (c.session.state !== 'live') return refusal(`Refused: ${args.cluster} is ${c.session.state}; nothing is repaired from stale state`);
    await flushChecks(c);
    const current = c.checker.finding(args.findingId);
    if (!current) return refusal(`Refused: finding ${args.findingId} no longer exists (it may have been fixed meanwhile)`);
    const plan = c.pinned.get(args.findingId) ?? current;
    const option = plan.repairs.find((r) => r.id === args.repairId);
    if (!option) return refusal(`Refused: finding ${args.findingId} has no repair ${args.repairId}`);
    const cancelled = cancelledBy(token, progress);
    const outcome = await executeRepair(c.session, plan.id, option, {
      log,
      cancelled,
      progress: (done, total, message) => progress?.report(total ? Math.round((100 * done) / total) : 100, message),
    });
    c.pinned.delete(args.findingId);
    await catchUp(c, outcome.seq);
    const resolved = !c.checker.finding(args.findingId);
    return {
      ok: outcome.refused === 0 && !outcome.cancelled,
      applied: outcome.applied,
      refused: outcome.refused,
      summary: outcome.summary,
      details: outcome.details,
      resolved,
    };
  }

  async function applyAllSafe(
    name: string,
    token: CancellationToken,
    progress: (WorkDoneProgressReporter & { token?: CancellationToken }) | undefined,
  ): Promise<ApplyRepairResult> {
    const c = clusters.get(name.toLowerCase());
    if (!c) return refusal(`Refused: no cluster named ${name} is connected`);
    if (c.session.state !== 'live') return refusal(`Refused: ${name} is ${c.session.state}; nothing is repaired from stale state`);
    await flushChecks(c);
    const plans = c.checker
      .findings()
      .map((f) => ({ finding: f, option: f.repairs.find((r) => r.safety === 'safe') }))
      .filter((p) => p.option);
    const cancelled = cancelledBy(token, progress);
    let applied = 0;
    let refused = 0;
    let stopped = false;
    const summaries: string[] = [];
    const details: string[] = [];
    for (const { finding, option } of plans) {
      if ((stopped = cancelled())) break;
      progress?.report(`${finding.id}: ${option!.title}`);
      const outcome = await executeRepair(c.session, finding.id, option!, { log, cancelled });
      stopped ||= outcome.cancelled;
      applied += outcome.applied;
      refused += outcome.refused;
      summaries.push(outcome.summary);
      details.push(...outcome.details);
      await catchUp(c, outcome.seq);
    }
    const remaining = c.checker.findings().length;
    return {
      ok: refused === 0 && !stopped,
      applied,
      refused,
      summary: plans.length
        ? `${plans.length} safe repair(s)${stopped ? ', cancelled part-way' : ''}: applied ${applied}, refused ${refused}; ${remaining} finding(s) remain`
        : 'No safe repair to apply',
      details: [...summaries, ...details].slice(0, 50),
      resolved: remaining === 0,
    };
  }

  /** Waits until the model holds the repair's own events (else resyncs), then re-checks. */
  async function catchUp(c: Cluster, seq: number): Promise<void> {
    if (!(await c.session.waitForSeq(seq, REPAIR_CATCH_UP_MS))) {
      log(`[${c.session.name}] events up to ${seq} did not arrive; resyncing`);
      await c.session.resync().catch((e) => log(`[${c.session.name}] resync failed: ${errorText(e)}`));
    }
    await flushChecks(c);
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
    return doc.languageId === SNAPSHOT_LANGUAGE && !doc.uri.startsWith('cluster:');
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
    const analysis = analyseSnapshot(doc.getText(), rules);
    entry.findings = analysis.findings;
    const diagnostics: Diagnostic[] = analysis.errors.slice(0, 100).map((err) => ({
      range: { start: { line: err.line, character: err.column }, end: { line: err.line + 1, character: 0 } },
      severity: DiagnosticSeverity.Error,
      source: SYNTAX_SOURCE,
      message: err.message,
    }));
    diagnostics.push(...findingDiagnostics(analysis.findings, uri, analysis.lines, '', false));
    connection.sendDiagnostics({ uri, version: doc.version, diagnostics });
  }

  documents.listen(connection);
  connection.listen();
  log('cluster-debugger language server ready');
}

/**
 * Cancelled from either side: the client's request token, or the Cancel
 * button of the work-done progress the server created (its own token).
 */
function cancelledBy(token: CancellationToken, progress: { token?: CancellationToken } | undefined): () => boolean {
  return () => token.isCancellationRequested || (progress?.token?.isCancellationRequested ?? false);
}
