/**
 * The extension's only door to the language server: the custom requests of
 * `src/protocol/lsp.ts`, with their results validated at the boundary so that a
 * server that lags behind (or answers something else) gives an error the UI can
 * show, never a crash deep in a tree provider.
 */
import { z } from 'zod';
import type { CancellationToken } from 'vscode';
import { randomUUID } from 'node:crypto';
import { ExecuteCommandRequest, LanguageClient, WorkDoneProgress, WorkDoneProgressBegin, WorkDoneProgressReport } from 'vscode-languageclient/node';
import {
  ApplyRepairArgs,
  ApplyRepairResult,
  ClusterInfo,
  ClustersResult,
  ConnectParams,
  DocumentResult,
  FindingSummary,
  FindingsResult,
  LspCommands,
  LspMethods,
  SnapshotResult,
  TreeChildrenParams,
  TreeChildrenResult,
  TreeNode,
} from '../protocol/lsp';
import { Subsystem } from '../protocol/collections';

export type ProgressSink = (value: WorkDoneProgressBegin | WorkDoneProgressReport) => void;

export class ServerApi {
  constructor(private readonly client: LanguageClient) {}

  private async request<S extends z.ZodType>(method: string, params: unknown, schema: S, token?: CancellationToken): Promise<z.infer<S>> {
    const raw: unknown = await this.client.sendRequest(method, params, token);
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      throw new Error(`The language server answered ${method} with an unexpected shape: ${z.prettifyError(parsed.error)}`);
    }
    return parsed.data;
  }

  async clusters(): Promise<ClusterInfo[]> {
    return (await this.request(LspMethods.clusters, {}, ClustersResult)).clusters;
  }

  async treeChildren(params: TreeChildrenParams, token?: CancellationToken): Promise<TreeNode[]> {
    return (await this.request(LspMethods.treeChildren, params, TreeChildrenResult, token)).nodes;
  }

  async findings(filter: { cluster?: string; subsystem?: Subsystem } = {}): Promise<FindingSummary[]> {
    return (await this.request(LspMethods.findings, filter, FindingsResult)).findings;
  }

  async document(uri: string, token?: CancellationToken): Promise<string> {
    return (await this.request(LspMethods.document, { uri }, DocumentResult, token)).text;
  }

  async snapshot(cluster: string): Promise<string> {
    return (await this.request(LspMethods.snapshot, { cluster }, SnapshotResult)).text;
  }

  async connect(params: ConnectParams): Promise<void> {
    await this.client.sendRequest(LspMethods.connect, params);
  }

  async disconnect(name: string): Promise<void> {
    await this.client.sendRequest(LspMethods.disconnect, { name });
  }

  async refresh(cluster?: string): Promise<void> {
    await this.client.sendRequest(LspMethods.refresh, { cluster });
  }

  /** Runs the server's `applyRepair` command; cancelling `token` cancels the request (and the server's batches). */
  applyRepair(args: ApplyRepairArgs, token?: CancellationToken, onProgress?: ProgressSink): Promise<ApplyRepairResult> {
    return this.executeCommand(LspCommands.applyRepair, [args], ApplyRepairResult, token, onProgress);
  }

  applyAllSafe(cluster: string, token?: CancellationToken, onProgress?: ProgressSink): Promise<ApplyRepairResult> {
    return this.executeCommand(LspCommands.applyAllSafe, [{ cluster }], ApplyRepairResult, token, onProgress);
  }

  /**
   * With a `workDoneToken` of our own, the server reports its progress to us instead of opening
   * a second progress notification, and our notification's Cancel cancels the request.
   */
  private async executeCommand<S extends z.ZodType>(
    command: string,
    args: unknown[],
    schema: S,
    token?: CancellationToken,
    onProgress?: ProgressSink,
  ): Promise<z.infer<S>> {
    const workDoneToken = randomUUID();
    const listener = onProgress
      ? this.client.onProgress(WorkDoneProgress.type, workDoneToken, (v: WorkDoneProgressBegin | WorkDoneProgressReport | { kind: 'end' }) => {
          if (v.kind !== 'end') onProgress(v);
        })
      : undefined;
    let raw: unknown;
    try {
      raw = await this.client.sendRequest(ExecuteCommandRequest.type, { command, arguments: args, workDoneToken: onProgress ? workDoneToken : undefined }, token);
    } finally {
      listener?.dispose();
    }
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      throw new Error(`The language server's ${command} returned an unexpected result: ${z.prettifyError(parsed.error)}`);
    }
    return parsed.data;
  }
}
