/**
 * `workspace/executeCommand`: the repairs (`LSP_COMMANDS`), with work-done progress and
 * cancellation, so any LSP client can run a quick fix. Each command is given the server's one state.
 */
import {
  ErrorCodes as LspErrorCodes,
  ResponseError,
  type CancellationToken,
  type ExecuteCommandParams,
  type WorkDoneProgressReporter,
  type WorkDoneProgressServerReporter,
} from 'vscode-languageserver/node';
import type { z } from 'zod';
import { LSP_COMMANDS, describeZodError, errorText, type ApplyRepairResult, type LspCommandName } from '../../protocol';
import type { RepairHooks, ServerState } from '../state';

type Progress = WorkDoneProgressReporter & { token?: CancellationToken };

type CommandHandlers = {
  [K in LspCommandName]: (
    state: ServerState,
    args: z.output<(typeof LSP_COMMANDS)[K]['args']>,
    hooks: RepairHooks,
  ) => Promise<ApplyRepairResult>;
};

const COMMAND_TITLES: Record<LspCommandName, string> = {
  applyRepair: 'Repairing',
  applyAllSafe: 'Applying all safe repairs',
  undoRepair: 'Undoing a repair',
};

const commands: CommandHandlers = {
  applyRepair: (state, args, hooks) => state.applyRepair(args, hooks),
  applyAllSafe: (state, args, hooks) => state.applyAllSafe(args.cluster, hooks),
  undoRepair: async (state, args, hooks) => {
    try {
      return await state.undoRepair(args, hooks);
    } catch (e) {
      // No such repair, or one that cannot be undone: an answer in words, not a failure of the server.
      return { ok: false, applied: 0, refused: 0, summary: `Refused: ${errorText(e)}`, details: [], resolved: false };
    }
  },
};

/**
 * Registered with `onRequest(ExecuteCommandRequest.type)`, not `onExecuteCommand`: that deletes
 * `workDoneToken` from the params before calling its handler, so the client's own progress (which we
 * must report to) would look like none (and get a second one of ours).
 */
export async function executeCommand(
  state: ServerState,
  params: ExecuteCommandParams,
  token: CancellationToken,
): Promise<ApplyRepairResult | ResponseError<void>> {
  const name = (Object.keys(LSP_COMMANDS) as LspCommandName[]).find((k) => LSP_COMMANDS[k].command === params.command);
  if (!name) return new ResponseError(LspErrorCodes.InvalidParams, `unknown command ${params.command}`);
  const parsed = LSP_COMMANDS[name].args.safeParse(params.arguments?.[0]);
  if (!parsed.success) return new ResponseError(LspErrorCodes.InvalidParams, `${name}: ${describeZodError(parsed.error)}`);
  let progress: Progress | undefined;
  try {
    const workDone = state.connection.window.attachWorkDoneProgress(params.workDoneToken);
    progress = await progressFor(state, workDone, params.workDoneToken !== undefined, COMMAND_TITLES[name]);
    const reporter = progress;
    const hooks: RepairHooks = {
      cancelled: () => token.isCancellationRequested || (reporter?.token?.isCancellationRequested ?? false),
      progress: (done, total, message) => reporter?.report(total ? Math.round((100 * done) / total) : 100, message),
    };
    return await (commands[name] as (s: ServerState, a: unknown, h: RepairHooks) => Promise<ApplyRepairResult>)(state, parsed.data, hooks);
  } catch (e) {
    if (e instanceof ResponseError) return e;
    state.logError(`executeCommand ${params.command}`, e);
    return new ResponseError(LspErrorCodes.InternalError, `${params.command} failed: ${errorText(e)}`);
  } finally {
    progress?.done();
  }
}

/**
 * The client's own progress (from `workDoneToken`) cancels through the request's token; one the
 * server creates has its own Cancel, so `cancelled` checks both.
 */
async function progressFor(
  state: ServerState,
  given: WorkDoneProgressReporter,
  clientToken: boolean,
  title: string,
): Promise<Progress | undefined> {
  let reporter: Progress | undefined = clientToken ? given : undefined;
  if (!reporter && state.client.canCreateProgress)
    reporter = (await state.connection.window.createWorkDoneProgress()) as WorkDoneProgressServerReporter;
  reporter?.begin(title, 0, undefined, true);
  return reporter;
}
