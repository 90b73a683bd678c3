/**
 * JSON-RPC 2.0 envelopes and error codes, shared by every peer.
 *
 * Transport is one JSON text per WebSocket message: a request, a notification,
 * or a batch (an array of them, answered with an array of replies). Every
 * inbound message is validated here before a handler sees it; a malformed one
 * gets an error reply and the connection stays open.
 */
import { z } from 'zod';

export const ErrorCodes = {
  ParseError: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  InternalError: -32603,
  /** Server-defined: the version handshake has not happened yet. */
  NotInitialized: -32002,
  /** Server-defined: the client speaks a protocol version the server does not. */
  UnsupportedVersion: -32001,
  /** Server-defined: the request was well-formed but the cluster cannot do it now. */
  Rejected: -32010,
  /**
   * Server-defined: a repair planned on another incarnation of the cluster (it
   * restarted or was reset since). Nothing was applied; re-check and plan again.
   */
  WrongIncarnation: -32011,
} as const;
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/**
 * Any string or number, echoed as sent. (`null` is allowed in a request but
 * discouraged by the specification: see `RpcRequest`.) Clients of this
 * project send integers.
 */
export const RequestId = z.union([z.string(), z.number()]);
export type RequestId = z.infer<typeof RequestId>;

export const RpcError = z.object({
  code: z.number().int(),
  message: z.string(),
  data: z.unknown().optional(),
});
export type RpcError = z.infer<typeof RpcError>;

export const RpcRequest = z.object({
  jsonrpc: z.literal('2.0'),
  id: RequestId.nullable(),
  method: z.string().min(1).max(128),
  params: z.unknown().optional(),
});
export type RpcRequest = z.infer<typeof RpcRequest>;

export const RpcNotification = z.object({
  jsonrpc: z.literal('2.0'),
  method: z.string().min(1).max(128),
  params: z.unknown().optional(),
});
export type RpcNotification = z.infer<typeof RpcNotification>;

export const RpcSuccess = z.object({
  jsonrpc: z.literal('2.0'),
  id: RequestId,
  result: z.unknown(),
});
export const RpcFailure = z.object({
  jsonrpc: z.literal('2.0'),
  id: RequestId.nullable(),
  error: RpcError,
});
export const RpcResponse = z.union([RpcSuccess, RpcFailure]);
export type RpcResponse = z.infer<typeof RpcResponse>;

export class RpcException extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
    this.name = 'RpcException';
  }
  toError(): RpcError {
    return this.data === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, data: this.data };
  }
}

/** Render zod issues as one line a human can act on: `limit: Too big: expected number to be <=5000`. */
export function describeZodError(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message))
    .join('; ');
}

export function errorReply(id: RequestId | null, code: number, message: string, data?: unknown) {
  return {
    jsonrpc: '2.0' as const,
    id,
    error: data === undefined ? { code, message } : { code, message, data },
  };
}

export function resultReply(id: RequestId | null, result: unknown) {
  return { jsonrpc: '2.0' as const, id, result };
}
