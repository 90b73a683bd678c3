/**
 * JSON-RPC dispatch for one connection: validates every inbound message with
 * the protocol's schemas and answers bad input with an error reply (never a
 * throw, never a state change). Transport-agnostic so it can be tested alone.
 */
import {
  describeZodError,
  ErrorCodes,
  errorReply,
  METHODS,
  PROTOCOL_VERSION,
  RequestId,
  resultReply,
  RpcException,
  RpcRequest,
  type MethodName,
} from '../protocol';
import type { z } from 'zod';
import type { Simulator } from './simulator';

type Handler = (params: never) => unknown;

export const SERVER_NAME = 'cluster-sim';

export class RpcSession {
  private initialized = false;
  /** True once the client called `cluster.subscribe`: it receives `cluster.events`. */
  subscribed = false;

  /** `signal` ends long work (a `sim.tick` run) when the server shuts down. */
  constructor(
    private readonly sim: Simulator,
    private readonly signal?: AbortSignal,
  ) {}

  /**
   * Handles one inbound text message; resolves to the reply to send, or
   * undefined (a notification). Every method but `sim.tick` answers within
   * the same turn of the event loop, so replies keep the order of requests.
   */
  async handle(text: string): Promise<object | undefined> {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (err) {
      return errorReply(null, ErrorCodes.ParseError, `parse error: ${(err as Error).message}`);
    }
    if (Array.isArray(raw)) return errorReply(null, ErrorCodes.InvalidRequest, 'invalid request: batches are not supported');
    const parsed = RpcRequest.safeParse(raw);
    if (!parsed.success) {
      // A message without an id is a notification; the protocol defines none from client to server.
      const id = raw && typeof raw === 'object' && 'id' in raw ? RequestId.safeParse((raw as { id: unknown }).id) : undefined;
      if (raw && typeof raw === 'object' && !('id' in raw) && (raw as { jsonrpc?: unknown }).jsonrpc === '2.0' && typeof (raw as { method?: unknown }).method === 'string') {
        return undefined;
      }
      return errorReply(id?.success ? id.data : null, ErrorCodes.InvalidRequest, `invalid request: ${describeZodError(parsed.error)}`);
    }
    const { id, method, params } = parsed.data;
    try {
      return resultReply(id, await this.dispatch(method, params));
    } catch (err) {
      if (err instanceof RpcException) return errorReply(id, err.code, err.message, err.data);
      return errorReply(id, ErrorCodes.InternalError, `internal error in ${method}: ${(err as Error).message}`);
    }
  }

  private dispatch(method: string, rawParams: unknown): unknown {
    if (!Object.prototype.hasOwnProperty.call(METHODS, method)) {
      throw new RpcException(ErrorCodes.MethodNotFound, `method not found: ${method}`);
    }
    const name = method as MethodName;
    if (!this.initialized && name !== 'initialize') {
      throw new RpcException(ErrorCodes.NotInitialized, `not initialized: call initialize (protocol version ${PROTOCOL_VERSION}) first`);
    }
    const params = METHODS[name].params.safeParse(rawParams);
    if (!params.success) throw new RpcException(ErrorCodes.InvalidParams, `invalid params for ${name}: ${describeZodError(params.error)}`);
    const handler = this.handlers[name] as Handler;
    return handler(params.data as never);
  }

  private readonly handlers: { [M in MethodName]: (params: z.output<(typeof METHODS)[M]['params']>) => unknown } = {
    initialize: (p) => {
      if (p.protocolVersion !== PROTOCOL_VERSION) {
        throw new RpcException(
          ErrorCodes.UnsupportedVersion,
          `unsupported protocol version ${p.protocolVersion}; this cluster speaks ${PROTOCOL_VERSION}`,
        );
      }
      this.initialized = true;
      return { protocolVersion: PROTOCOL_VERSION, serverName: SERVER_NAME, simulator: true, status: this.sim.status() };
    },
    'cluster.status': () => this.sim.status(),
    'cluster.list': (p) => this.sim.list(p.collection, p.cursor, p.limit),
    'cluster.get': (p) => this.sim.get(p.collection, p.keys),
    'cluster.subscribe': () => {
      this.subscribed = true;
      return { seq: this.sim.status().seq };
    },
    'cluster.unsubscribe': () => {
      this.subscribed = false;
      return {};
    },
    repair: (p) => this.sim.repair(p),
    'sim.reset': (p) => this.sim.reset(p),
    'sim.tick': (p) => this.sim.run(p.ticks, this.signal),
    'sim.setBugs': (p) => this.sim.setBugs(p.bugs),
    'sim.inject': (p) => this.sim.inject(p.fault, p.target),
    'sim.traceHash': () => this.sim.traceHash(),
  };
}
