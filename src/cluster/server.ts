/**
 * A cluster's WebSocket endpoint: the simulator's and the gateway's alike, so
 * both have the same token, Origin, size and backpressure rules.
 *
 * Safety (docs/ARCHITECTURE.md, "Safety"): listens on 127.0.0.1 unless told
 * otherwise; the upgrade needs `Authorization: Bearer <token>`, compared in
 * constant time, refused with 401 before any WebSocket exists; an upgrade
 * carrying an `Origin` that is not allowed (a web page trying to drive the
 * cluster) is refused with 403; frames over `maxPayload` close that one
 * client with 1009; a subscriber that cannot keep up is closed with 1013 (it
 * resyncs) rather than buffering without bound; a client that does not read
 * its replies is not read from (past `readPauseBytes` unsent) and is closed
 * with 1008 past `maxBufferedBytes`, so no client can hold more than about
 * that much of the server's memory (plus the events held back while its own
 * request runs, at most `MAX_HELD_EVENT_CHARS`). permessage-deflate stays off: it is slow
 * for many small messages (docs/limits.md).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { encodeDeletes, type EventEncoding } from '../protocol';
import { sharedTokenAuth, type Authenticate, type Caller } from './auth';
import type { ClusterBackend } from './backend';
import { createClusterMetrics, isMetricsRequest, type ClusterMetricsOptions } from './metrics';
import { RpcSession } from './rpc';

export interface ClusterServerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: a free port. */
  port?: number;
  /** Default: the environment variable `tokenEnv` names, else a random one (see `tokenGenerated`). */
  token?: string;
  /** Where a token may come from when none is given, e.g. `CLUSTER_SIM_TOKEN`. */
  tokenEnv?: string;
  /**
   * Per-user tokens (a team gateway's `users`, src/cluster/auth.ts): who each upgrade is, or
   * undefined to refuse it. Given: `token` and `tokenEnv` are not used.
   */
  authenticate?: Authenticate;
  /** Origins allowed to upgrade. Default: none (Node clients send no Origin). */
  allowedOrigins?: string[];
  /** Largest inbound frame; default 1 MiB. */
  maxPayload?: number;
  /**
   * A client with more than this unsent is closed: a subscriber falling behind on events with 1013
   * (it must resync), a client not reading its replies with 1008. Default 64 MiB.
   */
  maxBufferedBytes?: number;
  /**
   * While a client has more than this unsent, the server reads and handles none of its messages
   * (until its replies drain). Default 1 MiB.
   */
  readPauseBytes?: number;
  /**
   * Plain HTTP requests (not WebSocket upgrades), e.g. the upstream HTTP
   * routes the simulator serves in their real shape (PD's API, a Quickwit
   * node's debug route). Answers and returns true for a route it serves;
   * every other request gets 426 Upgrade Required.
   */
  http?: (req: IncomingMessage, res: ServerResponse) => boolean;
  /** Ping interval to find dead clients. Default 30 s. */
  heartbeatMs?: number;
  /**
   * `GET /metrics` on this server (src/cluster/metrics.ts), without the token unless `requireToken`.
   * Default: served. false: not here (`startMetricsServer` serves it on a port of its own).
   */
  metrics?: false | (ClusterMetricsOptions & { requireToken?: boolean });
}

export interface ClusterServer {
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /** The shared token; empty when `authenticate` decides who may connect. */
  readonly token: string;
  /** True when the token was generated here (the CLI prints it). */
  readonly tokenGenerated: boolean;
  /** Whether a request carries this server's token (`/metrics` on a port of its own, with `requireToken`). */
  authorizes(req: IncomingMessage): Promise<boolean>;
  /** Number of connected WebSocket clients. */
  clientCount(): number;
  close(): Promise<void>;
}

export const DEFAULT_MAX_PAYLOAD = 1024 * 1024;
const DEFAULT_MAX_BUFFERED = 64 * 1024 * 1024;
const DEFAULT_READ_PAUSE = 1024 * 1024;
/** Messages of one client received but not handled yet; past this, the server stops reading it until it catches up. */
const MAX_INBOX = 16;
/**
 * Change events a client's own request causes wait until the request's reply has gone, up to this
 * many characters of notifications (beyond that they go at once, as they would otherwise).
 */
const MAX_HELD_EVENT_CHARS = 8 * 1024 * 1024;
/** A client closed for being too slow gets this long to take the close frame before its socket is cut. */
const CLOSE_GRACE_MS = 2000;
/** Close code for a subscriber that fell too far behind ("try again later"). */
export const CLOSE_TOO_SLOW = 1013;
/** Close code for a client that does not read its replies (policy violation). */
export const CLOSE_NOT_READING = 1008;

function refuse(socket: Duplex, status: number, reason: string, extra: Record<string, string> = {}): void {
  const body = `${reason}\n`;
  const headers = {
    'Content-Type': 'text/plain; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    Connection: 'close',
    ...extra,
  };
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\n${Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}`)
      .join('\r\n')}\r\n\r\n${body}`,
  );
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/**
 * Whether a request's Host header names this server: the host it listens on, or a loopback name
 * when it listens on loopback, or any IP literal when it listens on every address (0.0.0.0, ::);
 * with the port listened on. A DNS name (a rebinding attack's) is refused unless it is the one listened on.
 */
export function hostAllowed(header: string | undefined, listenHost: string, port: number | undefined): boolean {
  if (!header) return false;
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(header.trim().toLowerCase());
  if (!m) return false;
  const name = m[1]!;
  if (m[2] !== undefined && port !== undefined && Number(m[2]) !== port) return false;
  const bare = name.replace(/^\[(.*)\]$/, '$1');
  const listen = listenHost.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  if (bare === listen) return true;
  if (LOOPBACK.has(listen) || listen.startsWith('127.')) return LOOPBACK.has(name) || bare.startsWith('127.');
  if (listen === '0.0.0.0' || listen === '::') return isIP(bare) !== 0 || LOOPBACK.has(name);
  return false;
}

export async function startClusterServer(cluster: ClusterBackend, opts: ClusterServerOptions = {}): Promise<ClusterServer> {
  const host = opts.host ?? '127.0.0.1';
  const envToken = opts.tokenEnv ? process.env[opts.tokenEnv] : undefined;
  // Hex, not base64url: a generated token is printed for the user to pass as `--token T`, and one
  // starting with '-' (1 in 64 for base64url) reads as an option to cluster-check and node's parseArgs.
  const token = opts.authenticate ? '' : (opts.token ?? (envToken ? envToken : randomBytes(24).toString('hex')));
  const tokenGenerated = !opts.authenticate && opts.token === undefined && !envToken;
  const authenticate = opts.authenticate ?? sharedTokenAuth(token);
  /** Who each connection is, from the token its upgrade carried. */
  const callers = new WeakMap<WebSocket, Caller>();
  const allowedOrigins = new Set(opts.allowedOrigins ?? []);
  const maxBuffered = opts.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED;
  const readPause = Math.min(opts.readPauseBytes ?? DEFAULT_READ_PAUSE, maxBuffered);

  const metrics = opts.metrics === false ? undefined : createClusterMetrics(cluster, opts.metrics);
  const http = createServer((req, res) => {
    const forMetrics = metrics !== undefined && isMetricsRequest(req);
    // The plain HTTP routes answer without a token: a page whose DNS name was rebound to this address
    // must not read them, so the Host header must name the address listened on (or localhost).
    if ((opts.http || forMetrics) && !hostAllowed(req.headers.host, host, (http.address() as AddressInfo | null)?.port)) {
      res.writeHead(421, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(`${cluster.serverName}: Host ${JSON.stringify(req.headers.host ?? '')} is not the address it listens on\n`);
      return;
    }
    if (forMetrics) {
      if (!(opts.metrics && opts.metrics.requireToken)) {
        metrics.handle(req, res);
        return;
      }
      // Any token that may connect may scrape (a viewer's too).
      void authenticate(req.headers.authorization).then(
        (caller) => {
          if (caller) return void metrics.handle(req, res);
          res.writeHead(401, { 'Content-Type': 'text/plain; charset=utf-8', 'WWW-Authenticate': `Bearer realm="${cluster.serverName}"` });
          res.end('Unauthorized\n');
        },
        () => {
          res.writeHead(500);
          res.end();
        },
      );
      return;
    }
    if (opts.http?.(req, res)) return;
    res.writeHead(426, { 'Content-Type': 'text/plain; charset=utf-8', Upgrade: 'websocket' });
    res.end(`${cluster.serverName} speaks JSON-RPC over WebSocket\n`);
  });
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: opts.maxPayload ?? DEFAULT_MAX_PAYLOAD,
    perMessageDeflate: false,
  });
  const sessions = new Map<WebSocket, RpcSession>();
  const shutdown = new AbortController();
  const alive = new WeakSet<WebSocket>();
  /** The raw socket under each WebSocket: its 'drain' says when unsent replies have gone out. */
  const rawSockets = new WeakMap<WebSocket, Duplex>();
  /** Clients not read from because their own earlier requests are still being handled (not their fault). */
  const waitingOnUs = new WeakSet<WebSocket>();
  /**
   * The `cluster.events` of a client whose request is being handled, held back until the reply
   * has gone: a bulk repair's client reads the answer first and sends its next batch, then
   * applies this batch's events while the cluster works on the next one, instead of the two
   * taking turns. The reply's `seq` says which events it waits for; order among events is kept.
   */
  const heldEvents = new Map<WebSocket, { texts: string[]; chars: number }>();

  /** Sends one events notification, unless the subscriber has fallen too far behind (then it is closed and resyncs). */
  function sendEvents(ws: WebSocket, text: string): void {
    if (!sessions.has(ws) || ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > maxBuffered) {
      kick(ws, CLOSE_TOO_SLOW, `subscriber too slow (${ws.bufferedAmount} bytes unsent); reconnect and resync`);
      return;
    }
    ws.send(text);
  }

  function releaseEvents(ws: WebSocket): void {
    const held = heldEvents.get(ws);
    heldEvents.delete(ws);
    for (const text of held?.texts ?? []) sendEvents(ws, text);
  }

  /** Drops a client that is too slow: it stops counting at once, and its socket (and buffers) go after a grace period. */
  function kick(ws: WebSocket, code: number, reason: string): void {
    sessions.delete(ws);
    ws.close(code, reason);
    setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
  }

  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    const origin = req.headers.origin;
    if (origin !== undefined && !allowedOrigins.has(origin)) {
      refuse(socket, 403, 'Forbidden');
      return;
    }
    void authenticate(req.headers.authorization).then(
      (caller) => {
        if (!caller) {
          refuse(socket, 401, 'Unauthorized', { 'WWW-Authenticate': `Bearer realm="${cluster.serverName}"` });
          return;
        }
        if (socket.destroyed) return;
        wss.handleUpgrade(req, socket, head, (ws) => {
          rawSockets.set(ws, socket);
          callers.set(ws, caller);
          wss.emit('connection', ws, req);
        });
      },
      () => refuse(socket, 500, 'Internal Server Error'),
    );
  });

  wss.on('connection', (ws: WebSocket) => {
    const session = new RpcSession(cluster, shutdown.signal, {}, callers.get(ws));
    sessions.set(ws, session);
    alive.add(ws);
    ws.on('pong', () => alive.add(ws));
    // Oversize frames: ws closes this client with 1009 and reports it here. Others are unaffected.
    ws.on('error', () => undefined);
    ws.on('close', () => sessions.delete(ws));
    // One message at a time, in arrival order, so that replies keep the order of the requests even when
    // a handler yields (a long `sim.tick`). Only this connection waits; the others are served meanwhile.
    // Backpressure: while more than `readPause` of its replies are unsent, or MAX_INBOX of its messages
    // wait, the client is not read from (its requests wait in its own socket), and one whose unsent
    // replies pass `maxBuffered` anyway (a large batch) is closed with 1008. A client that reads nothing
    // at all cannot answer pings either, and the heartbeat drops it.
    const socket = rawSockets.get(ws)!;
    // Above the socket's high-water mark a write reports backpressure, so 'drain' is sure to come.
    const pauseAt = Math.max(readPause, socket.writableHighWaterMark);
    const inbox: string[] = [];
    let running = false;
    const open = () => ws.readyState === ws.OPEN;
    const drained = () =>
      new Promise<void>((resolve) => {
        const done = () => {
          socket.off('drain', done);
          socket.off('close', done);
          resolve();
        };
        socket.on('drain', done);
        socket.on('close', done);
      });
    const readOrNot = () => {
      const full = inbox.length >= MAX_INBOX;
      if (full) waitingOnUs.add(ws);
      else waitingOnUs.delete(ws);
      if (full || ws.bufferedAmount > pauseAt) ws.pause();
      else ws.resume();
    };
    const drain = async () => {
      running = true;
      try {
        while (open()) {
          if (ws.bufferedAmount > pauseAt) {
            ws.pause();
            await drained();
            continue;
          }
          const text = inbox.shift();
          if (text === undefined) break;
          readOrNot();
          heldEvents.set(ws, { texts: [], chars: 0 });
          try {
            const reply = await session.handle(text);
            if (reply === undefined || !open()) continue;
            ws.send(reply);
            if (ws.bufferedAmount > maxBuffered) {
              inbox.length = 0;
              kick(ws, CLOSE_NOT_READING, `client not reading its replies (${ws.bufferedAmount} bytes unsent)`);
            }
          } finally {
            releaseEvents(ws);
          }
        }
      } finally {
        running = false;
        if (open()) readOrNot();
      }
    };
    ws.on('message', (data, isBinary) => {
      if (!sessions.has(ws)) return; // being closed
      inbox.push(isBinary ? '\u0000' /* not JSON: answered with a parse error */ : data.toString());
      if (inbox.length >= MAX_INBOX) readOrNot();
      if (!running) void drain();
    });
  });

  const unsubscribe = cluster.onEvents((n) => {
    // Serialised once per encoding, for every subscriber that reads it.
    const texts = new Map<EventEncoding | undefined, string[]>();
    const textsFor = (encoding: EventEncoding | undefined) => {
      let t = texts.get(encoding);
      if (!t) {
        const notifications = encoding === 'deletes-v1' ? encodeDeletes(n) : [n];
        t = notifications.map((params) => JSON.stringify({ jsonrpc: '2.0', method: 'cluster.events', params }));
        texts.set(encoding, t);
      }
      return t;
    };
    for (const [ws, session] of sessions) {
      if (!session.subscribed || ws.readyState !== ws.OPEN) continue;
      for (const text of textsFor(session.eventEncoding)) {
        const held = heldEvents.get(ws);
        if (held && held.chars + text.length <= MAX_HELD_EVENT_CHARS) {
          held.texts.push(text);
          held.chars += text.length;
          continue;
        }
        releaseEvents(ws);
        sendEvents(ws, text);
      }
    }
  });

  const heartbeat = setInterval(() => {
    for (const ws of sessions.keys()) {
      // Its pong may be among the messages not read yet because the server is busy with its requests.
      if (waitingOnUs.has(ws)) continue;
      if (!alive.has(ws)) {
        ws.terminate();
        continue;
      }
      alive.delete(ws);
      ws.ping();
    }
  }, opts.heartbeatMs ?? 30_000);
  heartbeat.unref();

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.port ?? 0, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  let closing: Promise<void> | undefined;
  return {
    url: `ws://${urlHost}:${port}`,
    host,
    port,
    token,
    tokenGenerated,
    authorizes: async (req) => (await authenticate(req.headers.authorization)) !== undefined,
    clientCount: () => sessions.size,
    close() {
      closing ??= new Promise<void>((resolve) => {
        shutdown.abort();
        metrics?.close();
        clearInterval(heartbeat);
        unsubscribe();
        for (const ws of wss.clients) ws.close(1001, `${cluster.serverName} shutting down`);
        wss.close();
        http.close(() => resolve());
        // Clients that do not finish the closing handshake promptly are cut off.
        const force = setTimeout(() => {
          for (const ws of wss.clients) ws.terminate();
          http.closeAllConnections();
        }, 1000);
        force.unref();
      });
      return closing;
    },
  };
}
