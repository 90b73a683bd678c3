/**
 * A WebSocket proxy between a client under test (the language server,
 * `cluster-check`) and the simulator, which sees every request from outside:
 *
 * - each upstream connection learns which simulator it reached from that
 *   simulator's own `initialize` reply (`status.incarnation`: a new process,
 *   or a reset, is a new incarnation);
 * - each `repair` request is recorded with the incarnation it was planned on,
 *   the incarnation of the simulator it was forwarded to, and how it was
 *   answered (a result, an error code, or nothing: the simulator died);
 * - a test can wait for a request (`waitForRequest`) and hold the n-th
 *   `repair` from now, with everything sent after it, until `release()`.
 *
 * The upstream URL is fixed: a simulator killed and started again on the same
 * port is reached by the next connection.
 */
import { WebSocket, WebSocketServer, type RawData } from 'ws';

export interface RepairRecord {
  requestId: string;
  /** The incarnation the client planned the repair on (`params.incarnation`). */
  plannedOn: string;
  /** The incarnation of the simulator this connection reached, from its `initialize` reply. */
  reached: string | undefined;
  params: { repair?: { command?: string; targets?: Array<{ key: string; version: number }> } };
  outcome: 'pending' | 'result' | 'error' | 'lost';
  errorCode?: number;
  result?: { applied: number; refused: number; items: Array<{ key: string; status: string }> };
}

interface Seen {
  method: string;
  params: unknown;
  conn: Upstream;
}

interface Upstream {
  id: number;
  incarnation: string | undefined;
}

type Waiter = { test: (r: Seen) => boolean; resolve: (r: Seen) => void };

export class RecordingProxy {
  readonly repairs: RepairRecord[] = [];
  private waiters: Waiter[] = [];
  private holdAt: number | undefined;
  private holding = false;
  private readonly queued: Array<() => void> = [];
  private heldWaiter: ((r: RepairRecord) => void) | undefined;
  private connections = 0;

  private constructor(
    private readonly wss: WebSocketServer,
    readonly url: string,
    private readonly upstream: string,
  ) {}

  static async start(upstream: string): Promise<RecordingProxy> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: 256 * 1024 * 1024 });
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', resolve);
      wss.once('error', reject);
    });
    const { port } = wss.address() as { port: number };
    const proxy = new RecordingProxy(wss, `ws://127.0.0.1:${port}`, upstream);
    wss.on('connection', (client, req) => proxy.pipe(client, req.headers.authorization));
    return proxy;
  }

  /** Resolves with the next request (from now) that passes `test`; rejects after `deadlineMs`. */
  waitForRequest(what: string, test: (method: string, params: unknown) => boolean, deadlineMs = 20_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        test: (r) => test(r.method, r.params),
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`no ${what} reached the proxy within ${deadlineMs} ms`));
      }, deadlineMs);
      this.waiters.push(waiter);
    });
  }

  /**
   * Holds the `n`-th repair request from now (1-based) and everything sent after it; resolves
   * with its record once it is held. Rejects after `deadlineMs`.
   */
  holdRepair(n: number, deadlineMs = 60_000): Promise<RepairRecord> {
    this.holdAt = this.repairs.length + n;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`repair ${n} did not reach the proxy within ${deadlineMs} ms`)), deadlineMs);
      this.heldWaiter = (r) => {
        clearTimeout(timer);
        resolve(r);
      };
    });
  }

  /** Lets the held request and whatever queued behind it through. */
  release(): void {
    this.holding = false;
    this.holdAt = undefined;
    for (const send of this.queued.splice(0)) send();
  }

  async close(): Promise<void> {
    this.release();
    for (const c of this.wss.clients) c.terminate();
    await new Promise<void>((r) => this.wss.close(() => r()));
  }

  private pipe(client: WebSocket, authorization: string | undefined): void {
    const conn: Upstream = { id: ++this.connections, incarnation: undefined };
    const up = new WebSocket(this.upstream, {
      headers: authorization ? { authorization } : {},
      perMessageDeflate: false,
      maxPayload: 256 * 1024 * 1024,
    });
    /** Requests of this connection waiting for their reply, by JSON-RPC id. */
    const inFlight = new Map<string, { method: string; record?: RepairRecord }>();
    const pending: Array<[RawData, boolean]> = [];
    const forward = (data: RawData, isBinary: boolean) => {
      const send = () => up.send(data, { binary: isBinary });
      if (up.readyState !== WebSocket.OPEN) pending.push([data, isBinary]);
      else if (this.holding) this.queued.push(send);
      else send();
    };
    up.on('open', () => {
      for (const [data, isBinary] of pending.splice(0)) forward(data, isBinary);
    });
    client.on('message', (data, isBinary) => {
      const msg = isBinary ? undefined : parse(data);
      if (msg && typeof msg.method === 'string') {
        const params = msg.params as RepairRecord['params'] & { requestId?: unknown; incarnation?: unknown };
        let record: RepairRecord | undefined;
        if (msg.method === 'repair') {
          record = {
            requestId: String(params?.requestId ?? '?'),
            plannedOn: String(params?.incarnation ?? '?'),
            reached: conn.incarnation,
            params,
            outcome: 'pending',
          };
          this.repairs.push(record);
        }
        // Only the replies worth reading are parsed: the initialize (which simulator is this?) and repairs.
        if (msg.id !== undefined && msg.id !== null && (record || msg.method === 'initialize'))
          inFlight.set(JSON.stringify(msg.id), { method: msg.method, record });
        const seen: Seen = { method: msg.method, params: msg.params, conn };
        const ready = this.waiters.filter((w) => w.test(seen));
        this.waiters = this.waiters.filter((w) => !ready.includes(w));
        if (record && this.holdAt !== undefined && this.repairs.length === this.holdAt && !this.holding) {
          this.holding = true;
          this.queued.push(() => up.send(data, { binary: false }));
          this.heldWaiter?.(record);
          for (const w of ready) w.resolve(seen);
          return;
        }
        forward(data, isBinary);
        for (const w of ready) w.resolve(seen);
        return;
      }
      forward(data, isBinary);
    });
    up.on('message', (data, isBinary) => {
      const msg = isBinary || inFlight.size === 0 ? undefined : parse(data);
      if (msg && msg.id !== undefined && msg.id !== null && !('method' in msg)) {
        const key = JSON.stringify(msg.id);
        const req = inFlight.get(key);
        inFlight.delete(key);
        if (req?.method === 'initialize') {
          const inc = (msg.result as { status?: { incarnation?: string } } | undefined)?.status?.incarnation;
          if (inc) conn.incarnation = inc;
        }
        if (req?.record) {
          if (msg.error) {
            req.record.outcome = 'error';
            req.record.errorCode = (msg.error as { code?: number }).code;
          } else {
            req.record.outcome = 'result';
            req.record.result = msg.result as RepairRecord['result'];
          }
        }
      }
      if (client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
    });
    const closeBoth = () => {
      for (const { record } of inFlight.values()) if (record && record.outcome === 'pending') record.outcome = 'lost';
      inFlight.clear();
      if (client.readyState === WebSocket.OPEN) client.close();
      if (up.readyState === WebSocket.OPEN || up.readyState === WebSocket.CONNECTING) up.terminate();
    };
    client.on('close', closeBoth);
    up.on('close', closeBoth);
    client.on('error', closeBoth);
    up.on('error', closeBoth);
  }
}

function parse(data: RawData): { id?: unknown; method?: unknown; params?: unknown; result?: unknown; error?: unknown } | undefined {
  try {
    const v = JSON.parse(data.toString());
    return v && typeof v === 'object' && !Array.isArray(v) ? v : undefined;
  } catch {
    return undefined;
  }
}
