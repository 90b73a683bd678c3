/**
 * JSON-RPC dispatch for one connection: validates every inbound message with
 * the protocol's schemas and answers bad input with an error reply (never a
 * throw, never a state change). Transport-agnostic so it can be tested alone.
 */
import {
  describeZodError,
  ErrorCodes,
  errorReply,
  EVENT_ENCODINGS,
  METHODS,
  PAGE_ENCODINGS,
  PROTOCOL_VERSION,
  RequestId,
  resultReply,
  RpcException,
  RpcRequest,
  type Caller,
  type EventEncoding,
  type MethodName,
  type OptionalMethod,
  type PageEncoding,
} from '../protocol';
import type { z } from 'zod';
import { SHARED_TOKEN_CALLER } from './auth';
import type { ClusterBackend, ClusterJournal, SimControl } from './backend';

/** Served only by a cluster that keeps its own journal. */
const JOURNAL_METHODS: OptionalMethod[] = ['journal.read', 'audit.preview'];

type Handler = (params: never) => unknown;

/** Most requests one batch may carry. */
export const DEFAULT_MAX_BATCH = 1000;
/** A batch stops running its requests once its replies reach this many characters (the rest get -32010). */
export const DEFAULT_MAX_BATCH_REPLY_CHARS = 16 * 1024 * 1024;

export interface RpcSessionLimits {
  maxBatch?: number;
  maxBatchReplyChars?: number;
}

type Reply = ReturnType<typeof errorReply> | ReturnType<typeof resultReply>;
/** One inbound message or batch element, validated: a reply already decided, a notification, or a request to run. */
type Classified = { reply: Reply } | { notification: true } | { request: RpcRequest };

/** The id to answer an invalid request with: its own when it is a valid id, else null. */
function idOf(raw: unknown): RequestId | null {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw) || !('id' in raw)) return null;
  const id = RequestId.safeParse((raw as { id: unknown }).id);
  return id.success ? id.data : null;
}

export class RpcSession {
  private initialized = false;
  /** The page encoding picked in `initialize` from the client's offer; undefined: objects. */
  private encoding: PageEncoding | undefined;
  /** The `cluster.events` encoding picked in `initialize` from the client's offer; undefined: objects. */
  eventEncoding: EventEncoding | undefined;
  /** True once the client called `cluster.subscribe`: it receives `cluster.events`. */
  subscribed = false;
  private readonly maxBatch: number;
  private readonly maxBatchReplyChars: number;

  /**
   * `signal` ends long work (a `sim.tick` run) when the server shuts down. `caller`: who the
   * connection is (the server knows from the token its upgrade carried); every repair carries it.
   */
  constructor(
    private readonly cluster: ClusterBackend,
    private readonly signal?: AbortSignal,
    limits: RpcSessionLimits = {},
    private readonly caller?: Caller,
  ) {
    this.maxBatch = limits.maxBatch ?? DEFAULT_MAX_BATCH;
    this.maxBatchReplyChars = limits.maxBatchReplyChars ?? DEFAULT_MAX_BATCH_REPLY_CHARS;
  }

  /**
   * Handles one inbound text message; resolves to the reply text to send, or
   * undefined (a notification, or a batch of notifications only). The
   * requests of a batch run one after another, in order, and their replies
   * come in that order. Handling one message at a time per connection, in
   * arrival order (the server does), keeps the replies in request order.
   */
  async handle(text: string): Promise<string | undefined> {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (err) {
      return JSON.stringify(errorReply(null, ErrorCodes.ParseError, `parse error: ${(err as Error).message}`));
    }
    if (!Array.isArray(raw)) {
      const reply = await this.run(this.classify(raw));
      return reply === undefined ? undefined : JSON.stringify(reply);
    }
    if (raw.length === 0) return JSON.stringify(errorReply(null, ErrorCodes.InvalidRequest, 'invalid request: an empty batch'));
    if (raw.length > this.maxBatch) {
      return JSON.stringify(
        errorReply(null, ErrorCodes.InvalidRequest, `invalid request: a batch of ${raw.length} requests; at most ${this.maxBatch}`),
      );
    }
    const replies: string[] = [];
    let chars = 0;
    for (const element of raw) {
      const c = this.classify(element);
      const reply =
        'request' in c && chars >= this.maxBatchReplyChars
          ? errorReply(
              c.request.id,
              ErrorCodes.Rejected,
              `not run: the batch's earlier replies already reach ${this.maxBatchReplyChars} characters; send this request again`,
            )
          : await this.run(c);
      if (reply === undefined) continue;
      const t = JSON.stringify(reply);
      chars += t.length;
      replies.push(t);
    }
    return replies.length ? `[${replies.join(',')}]` : undefined;
  }

  private classify(raw: unknown): Classified {
    const parsed = RpcRequest.safeParse(raw);
    if (parsed.success) return { request: parsed.data };
    // A message without an id is a notification; the protocol defines none from client to server.
    if (
      raw &&
      typeof raw === 'object' &&
      !Array.isArray(raw) &&
      !('id' in raw) &&
      (raw as { jsonrpc?: unknown }).jsonrpc === '2.0' &&
      typeof (raw as { method?: unknown }).method === 'string'
    ) {
      return { notification: true };
    }
    return { reply: errorReply(idOf(raw), ErrorCodes.InvalidRequest, `invalid request: ${describeZodError(parsed.error)}`) };
  }

  private async run(c: Classified): Promise<Reply | undefined> {
    if ('reply' in c) return c.reply;
    if ('notification' in c) return undefined;
    const { id, method, params } = c.request;
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
    if (name.startsWith('sim.') && !this.cluster.control) {
      throw new RpcException(
        ErrorCodes.MethodNotFound,
        `method not found: ${method} (this cluster is ${this.cluster.serverName}, not a simulator)`,
      );
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
      // The client's first offer this server speaks; none: the objects every client reads.
      this.encoding = p.encodings?.find((e): e is PageEncoding => (PAGE_ENCODINGS as readonly string[]).includes(e));
      this.eventEncoding = p.eventEncodings?.find((e): e is EventEncoding => (EVENT_ENCODINGS as readonly string[]).includes(e));
      return {
        protocolVersion: PROTOCOL_VERSION,
        serverName: this.cluster.serverName,
        simulator: this.cluster.control !== undefined,
        status: this.cluster.status(),
        ...(this.encoding ? { encoding: this.encoding } : {}),
        ...(this.optionalMethods().length ? { methods: this.optionalMethods() } : {}),
        ...(this.eventEncoding ? { eventEncoding: this.eventEncoding } : {}),
        ...(this.caller && this.caller !== SHARED_TOKEN_CALLER ? { caller: this.caller } : {}),
      };
    },
    'cluster.status': () => this.cluster.status(),
    'cluster.list': (p) => this.cluster.list(p.collection, p.cursor, p.limit, this.encoding),
    'cluster.get': (p) => this.cluster.get(p.collection, p.keys),
    'cluster.summary': () => {
      if (!this.cluster.summary)
        throw new RpcException(
          ErrorCodes.MethodNotFound,
          `method not found: cluster.summary (${this.cluster.serverName} does not count without reading)`,
        );
      return this.cluster.summary();
    },
    'cluster.subscribe': () => {
      this.subscribed = true;
      return { seq: this.cluster.status().seq };
    },
    'cluster.unsubscribe': () => {
      this.subscribed = false;
      return {};
    },
    repair: (p) => this.cluster.repair(p, this.caller),
    // Any caller may read the journal and report a preview (a viewer's role is read and preview).
    'journal.read': (p) => this.journal('journal.read').read(p.after ?? 0, p.limit),
    'audit.preview': async (p) => {
      await this.journal('audit.preview').preview(p, this.caller);
      return {};
    },
    'sim.reset': (p) => this.control().reset(p),
    'sim.tick': (p) => this.control().run(p.ticks, this.signal),
    'sim.setBugs': (p) => this.control().setBugs(p.bugs),
    'sim.inject': (p) => this.control().inject(p.fault, p.target),
    'sim.traceHash': () => this.control().traceHash(),
    'sim.initShards': (p) => this.control().initShards(p.keys),
  };

  /** The optional methods this cluster serves (`InitializeResult.methods`). */
  private optionalMethods(): OptionalMethod[] {
    return [...(this.cluster.summary ? ['cluster.summary' as const] : []), ...(this.cluster.journal ? JOURNAL_METHODS : [])];
  }

  private journal(method: string): ClusterJournal {
    if (!this.cluster.journal)
      throw new RpcException(ErrorCodes.MethodNotFound, `method not found: ${method} (${this.cluster.serverName} keeps no journal)`);
    return this.cluster.journal;
  }

  /** `dispatch` already refused `sim.*` on a cluster without control. */
  private control(): SimControl {
    return this.cluster.control!;
  }
}
