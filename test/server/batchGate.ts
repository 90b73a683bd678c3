/**
 * A WebSocket proxy between the language server and the simulator that can
 * hold one repair batch: the server sends it, the simulator does not see it
 * until the test says so. (Or one request of another method: holding the first
 * `cluster.list` holds a sync before any page, and everything the server
 * sends after it.) With the batch held, a test can cancel the repair
 * and make sure the server has seen the cancel before that batch is answered;
 * how many batches then reach the cluster is deterministic, with no timing
 * involved. Shared by the server tests and the integration suite (it runs in
 * the extension host too: only `ws` and Node).
 */
import { WebSocket, WebSocketServer, type RawData } from 'ws';

export class BatchGate {
  /** The requestId of every `repair` request (or request of the held method) the server sent, in order (held ones included). */
  readonly repairs: string[] = [];
  private holding = false;
  private released = false;
  private readonly queued: Array<() => void> = [];
  private onHeld: (() => void) | undefined;
  private readonly heldPromise: Promise<void>;

  private constructor(
    private readonly wss: WebSocketServer,
    readonly url: string,
    private readonly holdAt: number,
    private readonly method: string,
  ) {
    this.heldPromise = new Promise((r) => (this.onHeld = r));
  }

  /**
   * Listens on a free loopback port and forwards every connection to `upstream`
   * (with the client's Authorization header). The `holdRepair`-th repair request
   * (1-based), and anything sent after it, waits for `release()`. `method`: hold
   * the requests of that method instead of `repair`'s.
   */
  static async start(upstream: string, opts: { holdRepair: number; method?: string }): Promise<BatchGate> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', resolve);
      wss.once('error', reject);
    });
    const { port } = wss.address() as { port: number };
    const gate = new BatchGate(wss, `ws://127.0.0.1:${port}`, opts.holdRepair, opts.method ?? 'repair');
    wss.on('connection', (client, req) => gate.pipe(client, upstream, req.headers.authorization));
    return gate;
  }

  /** Resolves once the held repair batch has arrived (and is being held); rejects after `deadlineMs`. */
  held(deadlineMs = 20_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new Error(
              `${this.method} request ${this.holdAt} did not reach the gate within ${deadlineMs} ms (${this.repairs.length} arrived)`,
            ),
          ),
        deadlineMs,
      );
    });
    return Promise.race([this.heldPromise, late]).finally(() => clearTimeout(timer));
  }

  /** Lets the held batch, and whatever queued behind it, through; no further holding. */
  release(): void {
    this.released = true;
    this.holding = false;
    for (const send of this.queued.splice(0)) send();
  }

  async close(): Promise<void> {
    this.release();
    for (const c of this.wss.clients) c.terminate();
    await new Promise<void>((r) => this.wss.close(() => r()));
  }

  private pipe(client: WebSocket, upstream: string, authorization: string | undefined): void {
    const up = new WebSocket(upstream, { headers: authorization ? { authorization } : {}, perMessageDeflate: false });
    const pending: Array<[RawData, boolean]> = [];
    const toUpstream = (data: RawData, isBinary: boolean) => {
      const send = () => up.send(data, { binary: isBinary });
      if (up.readyState !== WebSocket.OPEN) pending.push([data, isBinary]);
      else if (this.holding)
        this.queued.push(send); // keep the server's order behind the held batch
      else send();
    };
    up.on('open', () => {
      for (const [data, isBinary] of pending.splice(0)) toUpstream(data, isBinary);
    });
    client.on('message', (data, isBinary) => {
      if (!isBinary && this.isHeldMethod(data)) {
        this.repairs.push(this.requestIdOf(data));
        if (this.repairs.length === this.holdAt && !this.released) {
          this.holding = true;
          this.queued.push(() => up.send(data, { binary: false }));
          this.onHeld?.();
          return;
        }
      }
      toUpstream(data, isBinary);
    });
    up.on('message', (data, isBinary) => {
      if (client.readyState === WebSocket.OPEN) client.send(data, { binary: isBinary });
    });
    const closeBoth = () => {
      if (client.readyState === WebSocket.OPEN) client.close();
      if (up.readyState === WebSocket.OPEN || up.readyState === WebSocket.CONNECTING) up.terminate();
    };
    client.on('close', closeBoth);
    up.on('close', closeBoth);
    client.on('error', closeBoth);
    up.on('error', closeBoth);
  }

  private isHeldMethod(data: RawData): boolean {
    return this.parse(data)?.method === this.method;
  }

  private requestIdOf(data: RawData): string {
    return String(this.parse(data)?.params?.requestId ?? '?');
  }

  private parse(data: RawData): { method?: string; params?: { requestId?: unknown } } | undefined {
    try {
      return JSON.parse(data.toString());
    } catch {
      return undefined;
    }
  }
}
