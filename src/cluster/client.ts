/**
 * A typed JSON-RPC-over-WebSocket client for the cluster protocol.
 *
 * Used by the language server, the `cluster-check` CLI, the tests and the
 * bench. Every inbound message is validated with the protocol's zod schemas,
 * so a peer that sends garbage produces a clear error, never a bad value.
 */
import WebSocket from 'ws';
import { z } from 'zod';
import { COLLECTIONS, type CollectionName, type EntityOf } from '../protocol/collections';
import { describeZodError, RpcException, RpcFailure, RpcSuccess, type RequestId } from '../protocol/jsonrpc';
import {
  DEFAULT_PAGE_LIMIT,
  EVENT_ENCODINGS,
  EventsNotification,
  MAX_PAGE_LIMIT,
  InitializeResult,
  METHODS,
  PROTOCOL_VERSION,
  type EventEncoding,
  type MethodName,
  type ParamsOf,
  type ResultOf,
} from '../protocol/methods';
import { eventsOf } from '../protocol/events';
import { decodeColumns, decodeColumnsEntities } from '../protocol/column-decoders';
import { EntityTable, type EntityMap } from '../analysis/table';
import { PAGE_ENCODINGS, type PageEncoding } from '../protocol/pages';

export interface ClusterClientOptions {
  url: string;
  token?: string;
  clientName: string;
  headers?: Record<string, string>;
  /** Default 60 s: building the incident-scale scenario on `sim.reset` takes seconds. */
  requestTimeoutMs?: number;
  /** WebSocket ping interval; the connection is closed if a pong does not come back before the next ping. Default 15 s. */
  heartbeatMs?: number;
  /** Largest inbound frame; default 64 MiB (pages are capped far below). */
  maxPayload?: number;
  /**
   * Page encodings to offer in `initialize`, best first (see `pages.ts`). Default: every one this
   * client reads (`columns-v1`). `[]` asks for objects, as a client from before encodings did.
   */
  encodings?: readonly PageEncoding[];
  /**
   * `cluster.events` encodings to offer, best first (`EVENT_ENCODINGS`). Default: every one this
   * client reads (`deletes-v1`). `[]`: every event as an object. Listeners get objects either way.
   */
  eventEncodings?: readonly EventEncoding[];
}

export interface ListAllOptions<C extends CollectionName> {
  /** Entities per page (default `DEFAULT_PAGE_LIMIT`). */
  limit?: number;
  /** Where to store the pages (see `ClusterClient.listAll`): then each page's entity count is yielded, not its entities. */
  into?: EntityMap<EntityOf<C>>;
}

export interface Disposable {
  dispose(): void;
}

interface Pending {
  method: MethodName;
  resolve(value: unknown): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 60_000;

const pageSchemas = new Map<CollectionName, z.ZodType>();
/** The schema of a page's items: the collection's entity schema, per item. */
function pageSchemaOf<C extends CollectionName>(collection: C): z.ZodType<EntityOf<C>[]> {
  let s = pageSchemas.get(collection);
  if (!s) pageSchemas.set(collection, (s = z.array(COLLECTIONS[collection].schema as unknown as z.ZodType<EntityOf<C>>)));
  return s as z.ZodType<EntityOf<C>[]>;
}
const DEFAULT_HEARTBEAT_MS = 15_000;

/** One line for an HTTP refusal of the upgrade. */
function describeRefusal(status: number): string {
  switch (status) {
    case 401:
      return `cluster refused the token (HTTP 401)`;
    case 403:
      return `cluster refused the connection: origin not allowed (HTTP 403)`;
    default:
      return `cluster refused the connection (HTTP ${status})`;
  }
}

function describeSocketError(url: string, err: Error & { code?: string }): string {
  return `cannot reach ${url}: ${err.code ?? err.message}`;
}

export class ClusterClient {
  private nextId = 1;
  private readonly pending = new Map<RequestId, Pending>();
  private readonly eventListeners = new Set<(n: EventsNotification) => void>();
  private readonly closeListeners = new Set<(reason: string) => void>();
  private closedReason: string | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private awaitingPong = false;
  private readonly requestTimeoutMs: number;
  // Assigned by `connect` once the handshake succeeds; never observed before.
  private initResult!: InitializeResult;
  /** Traffic counters (for benchmarks and logs). */
  readonly stats = { messagesReceived: 0, bytesReceived: 0, messagesSent: 0 };

  private constructor(
    private readonly ws: WebSocket,
    opts: ClusterClientOptions,
  ) {
    this.requestTimeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    ws.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary));
    ws.on('pong', () => (this.awaitingPong = false));
    ws.on('close', (code, reason) => {
      const text = reason.toString();
      this.shutdown(text ? `connection closed (${code}): ${text}` : `connection closed (${code})`);
    });
    ws.on('error', (err) => this.shutdown(`connection error: ${err.message}`));
  }

  get init(): InitializeResult {
    return this.initResult;
  }

  /** True once the connection closed for any reason. */
  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  /** Opens the socket, authenticates, and does the `initialize` handshake. Rejects with one clear line. */
  static connect(opts: ClusterClientOptions): Promise<ClusterClient> {
    return new Promise<ClusterClient>((resolve, reject) => {
      const headers: Record<string, string> = { ...(opts.headers ?? {}) };
      if (opts.token !== undefined) headers.Authorization = `Bearer ${opts.token}`;
      let ws: WebSocket;
      try {
        ws = new WebSocket(opts.url, {
          headers,
          perMessageDeflate: false, // slow for many small messages (docs/limits.md)
          maxPayload: opts.maxPayload ?? 64 * 1024 * 1024,
          handshakeTimeout: opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
        });
      } catch (err) {
        reject(new Error(`cannot connect to ${opts.url}: ${(err as Error).message}`));
        return;
      }
      let settled = false;
      const fail = (message: string) => {
        if (settled) return;
        settled = true;
        ws.removeAllListeners();
        ws.on('error', () => undefined);
        ws.terminate();
        reject(new Error(message));
      };
      ws.once('unexpected-response', (_req, res) => {
        res.resume();
        fail(describeRefusal(res.statusCode ?? 0));
      });
      ws.once('error', (err) => fail(describeSocketError(opts.url, err)));
      ws.once('close', (code, reason) =>
        fail(`connection to ${opts.url} closed during the handshake (${code}${reason.length ? `: ${reason}` : ''})`),
      );
      ws.once('open', () => {
        ws.removeAllListeners();
        const client = new ClusterClient(ws, opts);
        const closeSub = client.onClose((reason) => fail(reason));
        const encodings = [...(opts.encodings ?? PAGE_ENCODINGS)];
        const eventEncodings = [...(opts.eventEncodings ?? EVENT_ENCODINGS)];
        client
          .request('initialize', {
            protocolVersion: PROTOCOL_VERSION,
            clientName: opts.clientName,
            ...(encodings.length ? { encodings } : {}),
            ...(eventEncodings.length ? { eventEncodings } : {}),
          })
          .then((init) => {
            closeSub.dispose();
            if (settled) return;
            if (init.protocolVersion !== PROTOCOL_VERSION) {
              client.close();
              fail(`cluster speaks protocol version ${init.protocolVersion}, this client ${PROTOCOL_VERSION}`);
              return;
            }
            if (init.encoding !== undefined && !encodings.includes(init.encoding)) {
              client.close();
              fail(`cluster picked the page encoding ${init.encoding}, which this client did not offer`);
              return;
            }
            if (init.eventEncoding !== undefined && !eventEncodings.includes(init.eventEncoding)) {
              client.close();
              fail(`cluster picked the event encoding ${init.eventEncoding}, which this client did not offer`);
              return;
            }
            settled = true;
            client.initResult = init;
            client.startHeartbeat(opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS);
            resolve(client);
          })
          .catch((err: Error) => {
            closeSub.dispose();
            client.close();
            fail(`handshake with ${opts.url} failed: ${err.message}`);
          });
      });
    });
  }

  /** Sends a request; resolves with the validated result, rejects with `RpcException` on an error reply. */
  request<M extends MethodName>(method: M, params: ParamsOf<M>, opts?: { timeoutMs?: number }): Promise<ResultOf<M>> {
    if (this.closedReason !== undefined) return Promise.reject(new Error(this.closedReason));
    const id = this.nextId++;
    return new Promise<ResultOf<M>>((resolve, reject) => {
      const timeoutMs = opts?.timeoutMs ?? this.requestTimeoutMs;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`${method} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { method, resolve: resolve as (v: unknown) => void, reject, timer });
      const message = params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params };
      this.stats.messagesSent++;
      this.ws.send(JSON.stringify(message), (err) => {
        if (!err) return;
        const p = this.pending.get(id);
        if (!p) return;
        this.pending.delete(id);
        clearTimeout(p.timer);
        p.reject(new Error(`cannot send ${method}: ${err.message}`));
      });
    });
  }

  onEvents(listener: (n: EventsNotification) => void): Disposable {
    this.eventListeners.add(listener);
    return { dispose: () => this.eventListeners.delete(listener) };
  }

  /** Fires once, on any close (including a heartbeat timeout). Fires at once if already closed. */
  onClose(listener: (reason: string) => void): Disposable {
    if (this.closedReason !== undefined) {
      const reason = this.closedReason;
      queueMicrotask(() => listener(reason));
      return { dispose: () => undefined };
    }
    this.closeListeners.add(listener);
    return { dispose: () => this.closeListeners.delete(listener) };
  }

  /**
   * One page of a collection, its items validated against the collection's
   * entity schema. A `columns-v1` page is validated and decoded column by
   * column (`decodeColumnsEntities`, with decoders derived from the same
   * schemas); a page of objects goes through the schema entity by entity. A
   * page that does not decode or validate rejects with one clear line.
   */
  async listPage<C extends CollectionName>(
    collection: C,
    cursor: string | null | undefined,
    limit: number = DEFAULT_PAGE_LIMIT,
  ): Promise<{ items: EntityOf<C>[]; nextCursor: string | null; seq: number; total: number }> {
    const page = await this.request('cluster.list', { collection, cursor, limit });
    return { items: this.itemsOf(collection, page), nextCursor: page.nextCursor, seq: page.seq, total: page.total };
  }

  /**
   * Pages through a collection with the cursor (see `listPage`). The next page is asked for as
   * soon as this one's cursor is known, before this one is decoded and handed over: the cluster
   * builds it meanwhile. Never more than that one request ahead, so the cluster's rules for a
   * client's unsent replies (server.ts: not read from past 1 MiB, closed past 64 MiB) see at
   * most two pages, as they would from two requests in turn.
   *
   * With `into`, each page is stored there instead of handed over (as `into.set(e.key, e)` for
   * each entity, in order) and the page's entity count is yielded: a `columns-v1` page goes into an
   * `EntityTable` from its decoded columns (`EntityTable.setColumns`), with no object per entity.
   */
  listAll<C extends CollectionName, O extends ListAllOptions<C> = ListAllOptions<C>>(
    collection: C,
    opts?: O,
  ): AsyncIterable<O extends { into: object } ? number : EntityOf<C>[]>;
  async *listAll<C extends CollectionName>(collection: C, opts?: ListAllOptions<C>): AsyncIterable<EntityOf<C>[] | number> {
    const limit = opts?.limit ?? DEFAULT_PAGE_LIMIT;
    const into = opts?.into;
    const ask = (cursor: string | null) => {
      const request = this.request('cluster.list', { collection, cursor, limit });
      // Failing while the caller still holds the page before (or after it stopped), it must not be an unhandled
      // rejection: the failure comes out of the `await` below, if there is one.
      request.catch(() => undefined);
      return request;
    };
    let next: Promise<ResultOf<'cluster.list'>> | undefined = ask(null);
    while (next) {
      const page: ResultOf<'cluster.list'> = await next;
      next = page.nextCursor === null ? undefined : ask(page.nextCursor);
      yield into ? this.store(collection, page, into) : this.itemsOf(collection, page);
    }
  }

  /** A `cluster.list` result's items, decoded and validated (see `listPage`). */
  private itemsOf<C extends CollectionName>(collection: C, page: ResultOf<'cluster.list'>): EntityOf<C>[] {
    if (page.collection !== collection) throw new Error(`cluster sent a ${page.collection} page for ${collection}`);
    if ('encoding' in page) {
      const decoded = decodeColumnsEntities(collection, page.page, MAX_PAGE_LIMIT);
      if (!decoded.ok) throw new Error(`cluster sent an invalid ${collection} page: ${decoded.error}`);
      return decoded.items;
    }
    const items = pageSchemaOf(collection).safeParse(page.items);
    if (!items.success) throw new Error(`cluster sent an invalid ${collection} page: ${describeZodError(items.error)}`);
    return items.data;
  }

  /** A `cluster.list` result's items, decoded and validated as `itemsOf` does, stored into `into`: how many. */
  private store<C extends CollectionName>(collection: C, page: ResultOf<'cluster.list'>, into: EntityMap<EntityOf<C>>): number {
    if (into instanceof EntityTable) {
      if (page.collection !== collection) throw new Error(`cluster sent a ${page.collection} page for ${collection}`);
      // The table grows once to the collection's size, not by steps each copied.
      into.reserve(page.total);
      if ('encoding' in page) {
        const decoded = decodeColumns(collection, page.page, MAX_PAGE_LIMIT);
        if (!decoded.ok) throw new Error(`cluster sent an invalid ${collection} page: ${decoded.error}`);
        if (decoded.columns) {
          into.setColumns(decoded.columns);
          return decoded.columns.n;
        }
        for (const e of decoded.items) into.set(e.key, e);
        return decoded.items.length;
      }
    }
    const items = this.itemsOf(collection, page);
    for (const e of items) into.set(e.key, e);
    return items.length;
  }

  close(): void {
    this.shutdown('closed by the client');
    // Already closing/closed sockets ignore this.
    this.ws.close(1000, 'client closed');
  }

  // ------------------------------------------------------------ internals --

  private startHeartbeat(ms: number): void {
    this.heartbeat = setInterval(() => {
      if (this.awaitingPong) {
        this.shutdown(`heartbeat timeout: no pong within ${ms} ms`);
        this.ws.terminate();
        return;
      }
      this.awaitingPong = true;
      try {
        this.ws.ping();
      } catch {
        // The close handler reports it.
      }
    }, ms);
    this.heartbeat.unref();
  }

  private shutdown(reason: string): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(id);
      p.reject(new Error(`${p.method} failed: ${reason}`));
    }
    const listeners = [...this.closeListeners];
    this.closeListeners.clear();
    for (const l of listeners) l(reason);
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    this.stats.messagesReceived++;
    this.stats.bytesReceived += data.length;
    if (isBinary) return; // the protocol is text only
    let msg: unknown;
    try {
      msg = JSON.parse(data.toString('utf8'));
    } catch {
      return; // nothing to correlate a garbled message with; the request times out
    }
    if (typeof msg !== 'object' || msg === null) return;
    const m = msg as Record<string, unknown>;
    if ('id' in m && ('result' in m || 'error' in m)) {
      this.onResponse(m);
    } else if (m.method === 'cluster.events') {
      const parsed = EventsNotification.safeParse(m.params);
      if (!parsed.success) return;
      // A run of deletions (`deletes-v1`) reaches the listeners as the delete events it stands for.
      const n = parsed.data.deleted ? { fromSeq: parsed.data.fromSeq, events: eventsOf(parsed.data), time: parsed.data.time } : parsed.data;
      for (const l of [...this.eventListeners]) l(n);
    }
  }

  private onResponse(m: Record<string, unknown>): void {
    const failure = RpcFailure.safeParse(m);
    if (failure.success) {
      const id = failure.data.id;
      const p = id === null ? undefined : this.pending.get(id);
      if (!p || id === null) return;
      this.pending.delete(id);
      clearTimeout(p.timer);
      const e = failure.data.error;
      p.reject(new RpcException(e.code, e.message, e.data));
      return;
    }
    const success = RpcSuccess.safeParse(m);
    if (!success.success) return;
    const p = this.pending.get(success.data.id);
    if (!p) return;
    this.pending.delete(success.data.id);
    clearTimeout(p.timer);
    const result = (METHODS[p.method].result as z.ZodType).safeParse(success.data.result);
    if (result.success) p.resolve(result.data);
    else p.reject(new Error(`cluster sent an invalid ${p.method} result: ${describeZodError(result.error)}`));
  }
}
