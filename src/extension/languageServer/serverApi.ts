/**
 * The extension's only door to the language server: the custom requests of
 * `src/protocol/lsp.ts`, with their results validated at the boundary so that a
 * server that lags behind (or answers something else) gives an error the UI can
 * show, never a crash deep in a tree provider.
 */
import { z } from 'zod';
import type { CancellationToken } from 'vscode';
import { randomUUID } from 'node:crypto';
import {
  ExecuteCommandRequest,
  LanguageClient,
  WorkDoneProgress,
  WorkDoneProgressBegin,
  WorkDoneProgressReport,
} from 'vscode-languageclient/node';
import {
  LSP_COMMANDS,
  LSP_REQUESTS,
  type ApplyRepairArgs,
  type ApplyRepairResult,
  type ClusterInfo,
  type ConnectParams,
  type FindingSummary,
  type FindEntityResult,
  type LspCommandName,
  type LspParams,
  type LspRequestName,
  type LspResult,
  type RepairHistoryResult,
  type ClusterStuckWork,
  type SaveSnapshotResult,
  type TreeChildrenParams,
  type TreeNode,
  type UndoRepairArgs,
} from '../../protocol/lsp';
import type { TopologyResult } from '../../protocol/topology';
import type { Subsystem } from '../../protocol/collections';

export type ProgressSink = (value: WorkDoneProgressBegin | WorkDoneProgressReport) => void;

export class ServerApi {
  constructor(private readonly client: LanguageClient) {}

  /** One request of the table: params checked before they leave, the result checked when it arrives. */
  async request<K extends LspRequestName>(name: K, params: LspParams<K>, token?: CancellationToken): Promise<LspResult<K>> {
    const spec = LSP_REQUESTS[name];
    const sent = spec.params.safeParse(params);
    if (!sent.success) throw new Error(`Bad ${spec.method} parameters: ${z.prettifyError(sent.error)}`);
    const raw: unknown = await this.client.sendRequest(spec.method, sent.data, token);
    const parsed = spec.result.safeParse(raw);
    if (!parsed.success) {
      throw new Error(`The language server answered ${spec.method} with an unexpected shape: ${z.prettifyError(parsed.error)}`);
    }
    return parsed.data as LspResult<K>;
  }

  async clusters(): Promise<ClusterInfo[]> {
    return (await this.request('clusters', {})).clusters;
  }

  async treeChildren(params: TreeChildrenParams, token?: CancellationToken): Promise<TreeNode[]> {
    return (await this.request('treeChildren', params, token)).nodes;
  }

  /** Current findings, for lists and picks. Reading them does not change what a quick fix will send. */
  async findings(filter: { cluster?: string; subsystem?: Subsystem } = {}): Promise<FindingSummary[]> {
    return (await this.request('findings', filter)).findings;
  }

  /** The plan a repair of this finding will send (the one its quick fix showed); null once it is gone. */
  async plan(cluster: string, findingId: string): Promise<FindingSummary | null> {
    return (await this.request('plan', { cluster, findingId })).finding;
  }

  /** What Repair All Safe would apply first on `cluster`, counted (nothing is sent). */
  planAllSafe(cluster: string): Promise<LspResult<'planAllSafe'>> {
    return this.request('planAllSafe', { cluster });
  }

  /** What waits on what, since when, per cluster (or only `cluster`), oldest first. */
  async stuckWork(cluster?: string, token?: CancellationToken): Promise<ClusterStuckWork[]> {
    return (await this.request('stuckWork', cluster === undefined ? {} : { cluster }, token)).clusters;
  }

  async document(uri: string, token?: CancellationToken): Promise<string> {
    return (await this.request('document', { uri }, token)).text;
  }

  /** What changed from snapshot text A to B: the findings diff needs the engine, so the server compares. */
  compare(params: LspParams<'compare'>): Promise<LspResult<'compare'>> {
    return this.request('compare', params);
  }

  async snapshot(cluster: string): Promise<string> {
    return (await this.request('snapshot', { cluster })).text;
  }

  /**
   * The server writes the cluster's snapshot to `path` on its own file system, streamed (the text
   * never comes through here); its progress goes to `onProgress`, and cancelling `token` stops it.
   */
  async saveSnapshot(cluster: string, path: string, token?: CancellationToken, onProgress?: ProgressSink): Promise<SaveSnapshotResult> {
    return this.withProgress(onProgress, (workDoneToken) => this.request('saveSnapshot', { cluster, path, workDoneToken }, token));
  }

  /** The nodes of one cluster (or every one), what each holds and the problems on each. */
  async topology(cluster?: string, token?: CancellationToken): Promise<TopologyResult> {
    return this.request('topology', cluster === undefined ? {} : { cluster }, token);
  }

  /** A page of the entities whose key holds `query`, of every connected cluster; pass the answer's cursor for the next page. */
  async findEntity(query: string, cursor: string | null, token?: CancellationToken): Promise<FindEntityResult> {
    return this.request('findEntity', { query, cursor }, token);
  }

  async connect(params: ConnectParams): Promise<ClusterInfo> {
    return this.request('connect', params);
  }

  async disconnect(name: string): Promise<void> {
    await this.request('disconnect', { name });
  }

  async refresh(cluster?: string): Promise<ClusterInfo[]> {
    return (await this.request('refresh', { cluster })).clusters;
  }

  /** Runs the server's `applyRepair` command; cancelling `token` cancels the request (and the server's batches). */
  applyRepair(args: ApplyRepairArgs, token?: CancellationToken, onProgress?: ProgressSink): Promise<ApplyRepairResult> {
    return this.executeCommand('applyRepair', args, token, onProgress);
  }

  applyAllSafe(cluster: string, token?: CancellationToken, onProgress?: ProgressSink): Promise<ApplyRepairResult> {
    return this.executeCommand('applyAllSafe', { cluster }, token, onProgress);
  }

  /** Runs the server's `undoRepair` command on a journalled repair. */
  undoRepair(args: UndoRepairArgs, token?: CancellationToken, onProgress?: ProgressSink): Promise<ApplyRepairResult> {
    return this.executeCommand('undoRepair', args, token, onProgress);
  }

  async setJournal(path: string | null): Promise<void> {
    await this.request('setJournal', { path });
  }

  repairHistory(): Promise<RepairHistoryResult> {
    return this.request('repairHistory', {});
  }

  /**
   * With a `workDoneToken` of our own, the server reports its progress to us instead of opening
   * a second progress notification, and our notification's Cancel cancels the request.
   */
  private async executeCommand<K extends LspCommandName>(
    name: K,
    args: z.input<(typeof LSP_COMMANDS)[K]['args']>,
    token?: CancellationToken,
    onProgress?: ProgressSink,
  ): Promise<ApplyRepairResult> {
    const spec = LSP_COMMANDS[name];
    const sent = spec.args.safeParse(args);
    if (!sent.success) throw new Error(`Bad ${spec.command} arguments: ${z.prettifyError(sent.error)}`);
    const raw: unknown = await this.withProgress(onProgress, (workDoneToken) =>
      this.client.sendRequest(ExecuteCommandRequest.type, { command: spec.command, arguments: [sent.data], workDoneToken }, token),
    );
    const parsed = spec.result.safeParse(raw);
    if (!parsed.success) {
      throw new Error(`The language server's ${spec.command} returned an unexpected result: ${z.prettifyError(parsed.error)}`);
    }
    return parsed.data;
  }

  /**
   * Runs `send` with a `workDoneToken` of our own when there is an `onProgress` (undefined otherwise):
   * the server's work-done progress on that token goes to `onProgress` until `send` settles.
   */
  private async withProgress<T>(onProgress: ProgressSink | undefined, send: (workDoneToken: string | undefined) => Promise<T>): Promise<T> {
    if (!onProgress) return send(undefined);
    const workDoneToken = randomUUID();
    const listener = this.client.onProgress(
      WorkDoneProgress.type,
      workDoneToken,
      (v: WorkDoneProgressBegin | WorkDoneProgressReport | { kind: 'end' }) => {
        if (v.kind !== 'end') onProgress(v);
      },
    );
    try {
      return await send(workDoneToken);
    } finally {
      listener.dispose();
    }
  }
}
