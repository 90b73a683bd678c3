/**
 * How a request reaches its handler (rust-analyzer's `handlers/dispatch`): the params are checked
 * against their schema, the handler is given the server's one state, and whatever it throws becomes
 * an LSP error response, logged when it is the server's fault. Nothing escapes to the connection.
 */
import { ErrorCodes as LspErrorCodes, ResponseError, type CancellationToken } from 'vscode-languageserver/node';
import type { z } from 'zod';
import { describeZodError, errorText } from '../../protocol';
import { WorkspaceError, type ServerState } from '../state';

/** A request handler: the server's state, the params as their schema parsed them, the request's token. */
export type Handler<P, R> = (state: ServerState, params: P, token: CancellationToken) => Promise<R> | R;

/** Wraps a handler: validates params, turns failures into LSP errors, never lets one escape. */
export function handle<S extends z.ZodType, R>(state: ServerState, name: string, schema: S, fn: Handler<z.output<S>, R>) {
  return async (raw: unknown, token: CancellationToken): Promise<R | ResponseError<void>> => {
    const parsed = schema.safeParse(raw ?? {});
    if (!parsed.success) return new ResponseError(LspErrorCodes.InvalidParams, `${name}: ${describeZodError(parsed.error)}`);
    try {
      return await fn(state, parsed.data, token);
    } catch (e) {
      if (e instanceof ResponseError) return e;
      if (e instanceof WorkspaceError) return new ResponseError(LspErrorCodes.InvalidParams, e.message);
      state.logError(name, e);
      return new ResponseError(LspErrorCodes.InternalError, `${name} failed: ${errorText(e)}`);
    }
  };
}
