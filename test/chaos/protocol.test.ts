/**
 * Chaos 1: a protocol fuzz of the real simulator process (out/cluster-sim.js).
 *
 * Tens of thousands of hostile messages over several connections at once:
 * malformed JSON, wrong types, unknown and inherited method names, huge and
 * deeply nested values, batches, bad ids, binary and oversize frames, `sim.*`
 * calls with bad params, repairs with bogus targets, failing preconditions
 * and foreign incarnations. None of them may change the cluster:
 *
 * - phase A sends only messages that must be answered without any effect:
 *   `sim.traceHash` must be exactly what it was;
 * - phase B adds repairs on the cluster's own incarnation whose every target
 *   is refused (wrong versions, failed preconditions) and `sim.initShards`
 *   for shards that do not exist: each is traced, and nothing else; so the
 *   trace grows by exactly the number of those answered (replays excepted),
 *   `seq` stays, and every entity of every collection is as it was.
 *
 * Throughout: the process does not exit, no reply is an internal error or
 * not JSON-RPC, every connection answers its sentinel (no hang), and a fresh
 * client's `cluster.status` is answered within 2 s at every checkpoint.
 */
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import WebSocket from 'ws';
import { COLLECTION_NAMES, Fault, type ClusterStatus } from '../../src/protocol';
import { ClusterClient } from '../../src/cluster/client';
import { startSim, type RunningSim } from '../server/sim';
import { COUNTS, report, Rng, SEED, within } from './counts';
import { testSecret } from '../secrets';

const KNOWN_CODES = new Set([-32700, -32600, -32601, -32602, -32002, -32001, -32010, -32011]);
const CHUNK = 40;
const SENTINEL_DEADLINE_MS = 15_000;
const PROBE_DEADLINE_MS = 2_000;

interface Keys {
  incarnation: string;
  epoch: number;
  /** Real entities: [collection, key, version]. */
  entities: Array<[string, string, number]>;
  shardKeys: string[];
}

/** Everything a client can read, hashed: every entity of every collection, and the status. */
async function stateDigest(client: ClusterClient): Promise<{ digest: string; status: ClusterStatus }> {
  const h = createHash('sha256');
  for (const c of COLLECTION_NAMES) for await (const page of client.listAll(c, { limit: 5000 })) h.update(JSON.stringify(page));
  const status = await client.request('cluster.status', {});
  h.update(JSON.stringify(status));
  return { digest: h.digest('hex'), status };
}

// ------------------------------------------------------------- generators --

const UNKNOWN_METHODS = [
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'valueOf',
  'isPrototypeOf',
  '__defineGetter__',
  'cluster.',
  'cluster.List',
  'cluster.list ',
  ' cluster.list',
  'cluster.list\u0000',
  'sim.',
  'sim.resetAll',
  'sim.kill',
  'REPAIR',
  'repair.apply',
  'rpc.discover',
  'x'.repeat(128),
  'ünïcödé',
  '\ud800',
  'cluster.events',
  'initialized',
  'shutdown',
  'exit',
];
const BAD_IDS: unknown[] = [{}, [], true, false, 1.5, -0, 1e300, Number.MAX_SAFE_INTEGER + 2, 'x'.repeat(5000), { id: 1 }, [1]];
const COLLECTION_LIKE = [
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'quickwit.metastore',
  'QUICKWIT.METASTORE.SHARDS',
  '',
  'milvus.nodes ',
  'prototype',
];
const GARBAGE_TEXT = [
  '',
  ' ',
  '{',
  '}',
  '[',
  ']',
  '[{]',
  '{"jsonrpc":"2.0"',
  '{"jsonrpc":"2.0","id":1,"method":"cluster.status"',
  'null',
  'undefined',
  'NaN',
  'Infinity',
  '-Infinity',
  '1e400',
  '"\\ud800"',
  '{"a":1,}',
  "{'jsonrpc':'2.0'}",
  '\u0000',
  '\ufeff{}',
  '{"__proto__":',
  'tru',
  '01',
  '.5',
  '{"jsonrpc":"2.0","id":1,"method":"cluster.status"}}',
  '[]]',
  '{"jsonrpc":"2.0","id":1,"method":"cluster.status",}',
];

function randomString(rng: Rng, max: number): string {
  const n = rng.int(max);
  let s = '';
  for (let i = 0; i < n; i++) {
    const r = rng.int(10);
    s +=
      r < 6
        ? String.fromCharCode(32 + rng.int(95))
        : r < 8
          ? String.fromCharCode(rng.int(0x10000))
          : rng.pick(['"', '\\', '{', '}', '[', ']', ':', ',', '\n']);
  }
  return s;
}

function randomValue(rng: Rng, depth = 0): unknown {
  switch (rng.int(depth > 3 ? 6 : 9)) {
    case 0:
      return null;
    case 1:
      return rng.chance(0.5);
    case 2:
      return rng.pick([0, -1, 1.5, 1e300, -1e-300, 2 ** 53, 5001, 10_001, 128, 1024]);
    case 3:
      return randomString(rng, 20);
    case 4:
      return rng.pick(['', '__proto__', 'constructor', 'buggy', 'fixed', 'healthy', 'quickwit.metastore.shards', 'ingester-0']);
    case 5:
      return rng.pick(COLLECTION_LIKE);
    case 6:
      return Array.from({ length: rng.int(4) }, () => randomValue(rng, depth + 1));
    case 7: {
      const o: Record<string, unknown> = {};
      for (let i = rng.int(4); i > 0; i--)
        o[rng.pick(['__proto__', 'constructor', 'key', 'version', 'collection', 'targets', 'a', randomString(rng, 6)])] = randomValue(
          rng,
          depth + 1,
        );
      return o;
    }
    default:
      return { ['__proto__']: { initialized: true, subscribed: true, polluted: 1 } };
  }
}

function deep(n: number, open: string, close: string, inner = '1'): string {
  return open.repeat(n) + inner + close.repeat(n);
}

class Gen {
  /** Request ids reused on purpose (the replay cache). */
  private readonly usedRequestIds: string[] = [];
  constructor(
    private readonly rng: Rng,
    private readonly k: Keys,
    /** Phase B: repairs on the cluster's own incarnation (all refused) and initShards of missing keys. */
    private readonly traced: boolean,
  ) {}

  private id(): unknown {
    const r = this.rng;
    return r.chance(0.85) ? r.int(1e9) : r.chance(0.5) ? randomString(r, 30) : r.pick(BAD_IDS);
  }

  private req(method: unknown, params?: unknown, id: unknown = this.id()): Record<string, unknown> {
    const o: Record<string, unknown> = { jsonrpc: '2.0', id, method };
    if (params !== undefined) o.params = params;
    return o;
  }

  /** A real key with a version it does not have, or a key that does not exist. */
  private target(): { key: unknown; version: unknown } {
    const r = this.rng;
    const [, key, version] = r.pick(this.k.entities);
    switch (r.int(5)) {
      case 0:
        return { key: `${key}-gone`, version };
      case 1:
        return { key, version: version + 1 + r.int(1000) };
      case 2:
        return { key, version: Math.max(0, version - 1 - r.int(3)) === version ? version + 7 : Math.max(0, version - 1 - r.int(3)) };
      case 3:
        return { key: r.pick(['', '__proto__', 'constructor', randomString(r, 40)]), version: r.int(5) };
      default:
        return { key: r.pick(this.k.shardKeys) + r.pick(['x', '/', ' ']), version };
    }
  }

  /** A precondition that does not hold now. */
  private failingPrecondition(): Record<string, unknown> {
    const r = this.rng;
    const [collection, key, version] = r.pick(this.k.entities);
    switch (r.int(3)) {
      case 0:
        return { epoch: 'quickwit.controlPlane', value: this.k.epoch + 1 + r.int(5) };
      case 1:
        return { collection, key, absent: true };
      default:
        return { collection, key, version: version + 1 + r.int(9) };
    }
  }

  private repairCommand(mustFail: boolean): Record<string, unknown> {
    const r = this.rng;
    const cmd = r.pick([
      'quickwit.deleteShards',
      'quickwit.restartControlPlane',
      'quickwit.adviseResetShards',
      'milvus.cancelAppendsAndClose',
      'milvus.forceRemoveNode',
      'greptime.cancelProcedures',
      'greptime.purgeProcedures',
      'greptime.disableAutoCreate',
      'tikv.clearPreparedMark',
      'tikv.evictRegion',
      'fluvio.restoreFromSpuReport',
    ]);
    const pre = r.chance(mustFail ? 0.4 : 0.3) ? [...Array.from({ length: r.int(3) }, () => this.failingPrecondition())] : undefined;
    if (cmd === 'quickwit.restartControlPlane') {
      const o: Record<string, unknown> = { command: cmd, expectedEpoch: this.k.epoch + 1 + r.int(3) };
      if (pre?.length) o.preconditions = pre;
      return o;
    }
    if (cmd === 'greptime.disableAutoCreate') {
      // Valid by itself: only a failed precondition keeps it from applying.
      return { command: cmd, table: randomString(r, 12), preconditions: [this.failingPrecondition()] };
    }
    const o: Record<string, unknown> = {
      command: cmd,
      targets: Array.from({ length: 1 + r.int(r.chance(0.05) ? 4000 : 6) }, () => this.target()),
    };
    if (pre?.length) o.preconditions = pre;
    return o;
  }

  /** Wrong in shape: the schema refuses it. */
  private malformedRepair(): unknown {
    const r = this.rng;
    const base = { requestId: `bad-${r.int(1e9)}`, incarnation: this.k.incarnation, repair: this.repairCommand(true) };
    switch (r.int(12)) {
      case 0:
        return { ...base, requestId: '' };
      case 1:
        return { ...base, requestId: 'r'.repeat(129) };
      case 2:
        return { ...base, incarnation: '' };
      case 3:
        return { ...base, incarnation: 'i'.repeat(129) };
      case 4:
        return { requestId: base.requestId, repair: base.repair };
      case 5:
        return { ...base, repair: { command: r.pick(['nope', '__proto__', 'constructor', 'quickwit.deleteshards']), targets: [] } };
      case 6:
        return { ...base, repair: { command: 'quickwit.deleteShards', targets: [] } };
      case 7:
        return {
          ...base,
          repair: { command: 'quickwit.deleteShards', targets: Array.from({ length: 5001 }, (_, i) => ({ key: `k${i}`, version: 1 })) },
        };
      case 8:
        return {
          ...base,
          repair: { command: 'quickwit.deleteShards', targets: [{ key: 'k', version: r.pick([-1, 1.5, '1', null, Infinity]) }] },
        };
      case 9:
        return {
          ...base,
          repair: {
            command: 'quickwit.deleteShards',
            targets: [{ key: 'k', version: 1 }],
            preconditions: [{ ...this.failingPrecondition(), extra: 1 }],
          },
        };
      case 10:
        return {
          ...base,
          repair: {
            command: 'quickwit.deleteShards',
            targets: [{ key: 'k', version: 1 }],
            preconditions: [{ collection: r.pick(COLLECTION_LIKE), key: 'k', absent: true }],
          },
        };
      default:
        return { ...base, repair: { command: 'quickwit.restartControlPlane', expectedEpoch: r.pick([-1, 1.5, '1', null]) } };
    }
  }

  private repairParams(): unknown {
    const r = this.rng;
    if (r.chance(0.35)) return this.malformedRepair();
    if (!this.traced || r.chance(0.4)) {
      // A well-formed repair for another incarnation: refused whole (-32011), before anything else.
      const inc = r.pick([
        `${this.k.incarnation}x`,
        this.k.incarnation.replace(/\.\d+$/, '.0'),
        randomString(r, 60) || 'other',
        '00000000-0000-0000-0000-000000000000.1',
      ]);
      return { requestId: `foreign-${r.int(1e9)}`, incarnation: inc, repair: this.repairCommand(false) };
    }
    let requestId = `chaos-${r.int(1e12)}`;
    if (this.usedRequestIds.length && r.chance(0.2)) requestId = r.pick(this.usedRequestIds);
    else this.usedRequestIds.push(requestId);
    return { requestId, incarnation: this.k.incarnation, repair: this.repairCommand(true) };
  }

  private simCall(): Record<string, unknown> {
    const r = this.rng;
    switch (r.int(6)) {
      case 0:
        return this.req(
          'sim.reset',
          r.pick([
            { scenario: 'nope' },
            { scenario: 'healthy', seed: '1' },
            { scenario: 'healthy', seed: 1.5 },
            { scenario: 'healthy', size: { danglingShards: -1 } },
            { scenario: 'healthy', size: { danglingShards: 5_000_001 } },
            { scenario: 'healthy', bugs: 'maybe' },
            { scenario: '__proto__' },
            {},
            [],
            null,
          ]),
        );
      case 1:
        return this.req(
          'sim.tick',
          r.pick([{ ticks: 0 }, { ticks: 10_001 }, { ticks: '1' }, { ticks: 1.5 }, { ticks: -1 }, { ticks: null }, 'x', [1]]),
        );
      case 2:
        return this.req(
          'sim.setBugs',
          r.pick([{ bugs: 'maybe' }, { bugs: 1 }, { bugs: { shards: 'x' } }, { bugs: { __proto__: 'buggy' } }, { bugs: null }, {}]),
        );
      case 3:
        return this.req(
          'sim.inject',
          r.chance(0.3)
            ? { fault: r.pick(['nope', '__proto__', 'quickwit', '']) }
            : { fault: r.pick(Fault.options), target: r.pick(['nope', '', '__proto__', 'ingester-9', 'node-999', randomString(r, 30)]) },
        );
      case 4:
        return this.req('sim.initShards', r.pick([{ keys: [] }, { keys: 'x' }, { keys: [1] }, { keys: ['k'.repeat(1025)] }, {}]));
      default:
        // Valid params, keys that do not exist: traced, so phase B only.
        return this.traced
          ? this.req('sim.initShards', {
              keys: Array.from({ length: 1 + r.int(5) }, () => `${r.pick(this.k.shardKeys)}${r.pick(['-x', '/', '~'])}`),
            })
          : this.req('sim.traceHash');
    }
  }

  private readCall(): Record<string, unknown> {
    const r = this.rng;
    switch (r.int(8)) {
      case 0:
        return this.req('cluster.list', { collection: r.pick(COLLECTION_NAMES), limit: 1 + r.int(50) });
      case 1:
        return this.req('cluster.list', {
          collection: r.chance(0.5) ? r.pick(COLLECTION_LIKE) : r.pick(COLLECTION_NAMES),
          limit: r.pick([0, -1, 5001, 1.5, '10', null, 1e300]),
        });
      case 2:
        return this.req('cluster.list', {
          collection: r.pick(COLLECTION_NAMES),
          cursor: r.pick(['!!', '', 'x'.repeat(1025), Buffer.from(randomString(r, 30)).toString('base64url'), randomString(r, 40)]),
        });
      case 3:
        return this.req(
          'cluster.get',
          r.pick([
            { collection: r.pick(COLLECTION_NAMES), keys: Array.from({ length: r.int(5) }, () => r.pick(this.k.entities)[1]) },
            { collection: r.pick(COLLECTION_NAMES), keys: 'x' },
            { collection: r.pick(COLLECTION_NAMES), keys: Array.from({ length: 5001 }, () => 'k') },
            { collection: r.pick(COLLECTION_NAMES), keys: [1, null] },
            { keys: [] },
          ]),
        );
      case 4:
        return this.req(
          r.pick(['cluster.status', 'cluster.subscribe', 'cluster.unsubscribe', 'sim.traceHash']),
          r.pick([undefined, {}, { extra: 1 }, [], null, 'x']),
        );
      case 5:
        return this.req(
          'initialize',
          r.pick([
            { protocolVersion: 1, clientName: 'chaos' },
            { protocolVersion: 2, clientName: 'chaos' },
            { protocolVersion: '1', clientName: 'chaos' },
            { protocolVersion: 1, clientName: 'c'.repeat(201) },
            {},
          ]),
        );
      case 6:
        return this.req(r.pick(COLLECTION_NAMES), randomValue(r));
      default:
        return this.req(r.pick(['cluster.list', 'cluster.get', 'repair', 'sim.reset', 'sim.inject']), randomValue(r));
    }
  }

  /** One element that could be a batch member. */
  private element(): unknown {
    const r = this.rng;
    switch (r.int(12)) {
      case 0:
        return this.req(r.pick(UNKNOWN_METHODS), randomValue(r));
      case 1: {
        const o = this.req('cluster.status');
        switch (r.int(6)) {
          case 0:
            o.jsonrpc = r.pick(['1.0', 2, null, '2.0 ', '']);
            break;
          case 1:
            delete o.method;
            break;
          case 2:
            o.method = r.pick([1, null, {}, [], '', 'm'.repeat(129)]);
            break;
          case 3:
            o.id = r.pick(BAD_IDS);
            break;
          case 4:
            delete o.jsonrpc;
            break;
          default:
            o.extra = randomValue(r);
        }
        return o;
      }
      case 2:
        return randomValue(r);
      case 3:
        return { jsonrpc: '2.0', method: r.pick(['cluster.status', 'repair', 'sim.reset', ...UNKNOWN_METHODS]), params: randomValue(r) }; // a notification: no reply
      case 4:
      case 5:
        return this.req('repair', this.repairParams());
      case 6:
        return this.simCall();
      default:
        return this.readCall();
    }
  }

  /** One WebSocket message: text, or a binary frame. */
  message(): { data: string | Buffer; binary?: boolean; oversize?: boolean } {
    const r = this.rng;
    const roll = r.int(1000);
    if (roll < 60) return { data: r.chance(0.5) ? r.pick(GARBAGE_TEXT) : randomString(r, 200) };
    if (roll < 90) {
      const valid = JSON.stringify(this.element());
      return { data: valid.slice(0, r.int(valid.length)) }; // truncated
    }
    if (roll < 110) return { data: Buffer.from(Array.from({ length: r.int(300) }, () => r.int(256))), binary: true };
    if (roll < 120) return { data: Buffer.from(JSON.stringify(this.req('cluster.status'))), binary: true };
    if (roll < 130) {
      // Deep nesting, as a whole message or inside params.
      const n = 1_000 + r.int(60_000);
      const inner = r.pick([deep(n, '[', ']'), deep(n, '{"a":', '}')]);
      return {
        data: r.chance(0.5)
          ? inner
          : `{"jsonrpc":"2.0","id":1,"method":"${r.pick(['cluster.list', 'repair', 'sim.reset', 'nope'])}","params":${inner}}`,
      };
    }
    if (roll < 136) {
      // Huge values, every frame under the 1 MiB limit.
      const big = (n: number) => 'x'.repeat(n);
      switch (r.int(4)) {
        case 0:
          return { data: JSON.stringify(this.req(big(100_000 + r.int(900_000)))) };
        case 1:
          return { data: JSON.stringify(this.req('cluster.get', { collection: 'milvus.nodes', keys: [big(100_000 + r.int(900_000))] })) };
        case 2:
          return { data: JSON.stringify(this.req('cluster.status', undefined, big(100_000 + r.int(900_000)))) };
        default: {
          const b = big(50_000 + r.int(280_000));
          return {
            data: JSON.stringify({
              jsonrpc: '2.0',
              id: 1,
              method: 'repair',
              params: { requestId: b, incarnation: b, repair: { command: b } },
            }),
          };
        }
      }
    }
    // Oversize frames close the connection; not in phase B, where every traced answer must reach us to be counted
    // (a repair still in the closed connection's inbox runs, is traced, and its answer goes nowhere).
    if (roll < 137 && !this.traced && r.chance(0.3)) return { data: 'y'.repeat(1024 * 1024 + 1 + r.int(1000)), oversize: true };
    if (roll < 190) {
      const n = r.pick([1, 2, 3, 5, 10, 20]);
      const batch = Array.from({ length: n }, () => (r.chance(0.1) ? [this.element()] : this.element()));
      return { data: JSON.stringify(batch) };
    }
    if (roll < 195)
      return {
        data: JSON.stringify(r.pick([[], [[]], Array.from({ length: 1001 }, () => 1), Array.from({ length: 1 + r.int(50) }, () => null)])),
      };
    if (roll < 205)
      return {
        data: r.pick([
          '{"jsonrpc":"2.0","id":1e400,"method":"cluster.status"}',
          '{"jsonrpc":"2.0","id":-0,"method":"cluster.status"}',
          '{"jsonrpc":"2.0","id":1,"method":"cluster.list","params":{"collection":"milvus.nodes","limit":1e400}}',
          '{"jsonrpc":"2.0","id":1,"method":"sim.tick","method":"cluster.status"}',
          '{"__proto__":{"jsonrpc":"2.0","id":1,"method":"cluster.status"}}',
          '{"jsonrpc":"2.0","id":1,"method":"sim.reset","params":{"__proto__":{"scenario":"healthy"}}}',
          '{"jsonrpc":"2.0","id":1,"method":"sim.inject","params":{"__proto__":{"fault":"fluvio.diskFull"}}}',
          '{"jsonrpc":"2.0","id":1,"method":"sim.tick","params":{"ticks":1,"ticks":0}}',
        ]),
      };
    return { data: JSON.stringify(this.element()) };
  }
}

// -------------------------------------------------------------- transport --

interface Tally {
  sent: number;
  replies: number;
  internalErrors: string[];
  badReplies: string[];
  unknownCodes: string[];
  oversizeCloses: number;
  unexpectedCloses: string[];
  hangs: number;
  /** Answers that were traced without changing state: non-replayed repairs, initShards. */
  traced: number;
  /** Answers that claim a change: a repair applied, a shard initialised. */
  applied: string[];
  byCode: Map<number, number>;
}

class FuzzConnection {
  private sentinels = new Map<string, () => void>();
  closed: { code: number; reason: string } | null = null;
  private closeWaiters: Array<() => void> = [];

  private constructor(
    readonly ws: WebSocket,
    private readonly tally: Tally,
  ) {
    ws.on('message', (d) => this.onMessage(d.toString()));
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      for (const w of this.closeWaiters.splice(0)) w();
      for (const resolve of this.sentinels.values()) resolve();
      this.sentinels.clear();
    });
    ws.on('error', () => undefined);
  }

  static open(url: string, token: string, tally: Tally): Promise<FuzzConnection> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { headers: { Authorization: `Bearer ${token}` }, perMessageDeflate: false });
      ws.once('open', () => resolve(new FuzzConnection(ws, tally)));
      ws.once('error', reject);
    });
  }

  send(data: string | Buffer, binary = false): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(data, { binary });
  }

  /** Sends a valid request and waits for its answer: every message before it has been handled. */
  async sentinel(id: string): Promise<'ok' | 'closed' | 'hang'> {
    if (this.closed) return 'closed';
    const answered = new Promise<void>((resolve) => this.sentinels.set(id, resolve));
    this.send(JSON.stringify({ jsonrpc: '2.0', id, method: 'cluster.status' }));
    try {
      await within(SENTINEL_DEADLINE_MS, `sentinel ${id}`, answered);
      return this.closed ? 'closed' : 'ok';
    } catch {
      this.sentinels.delete(id);
      return 'hang';
    }
  }

  waitClosed(ms: number): Promise<void> {
    if (this.closed) return Promise.resolve();
    return within(ms, 'close', new Promise<void>((r) => this.closeWaiters.push(r))).catch(() => undefined);
  }

  close(): void {
    this.ws.terminate();
  }

  private onMessage(text: string): void {
    const t = this.tally;
    let v: unknown;
    try {
      v = JSON.parse(text);
    } catch {
      t.badReplies.push(`not JSON: ${text.slice(0, 120)}`);
      return;
    }
    const items = Array.isArray(v) ? v : [v];
    if (Array.isArray(v) && v.length === 0) t.badReplies.push('an empty batch reply');
    for (const r of items) this.check(r);
  }

  private check(r: unknown): void {
    const t = this.tally;
    if (!r || typeof r !== 'object') {
      t.badReplies.push(`not an object: ${JSON.stringify(r)?.slice(0, 120)}`);
      return;
    }
    const o = r as { jsonrpc?: unknown; id?: unknown; method?: unknown; result?: unknown; error?: { code?: unknown; message?: unknown } };
    if (o.method === 'cluster.events') return;
    t.replies++;
    if (o.jsonrpc !== '2.0' || !('id' in o) || 'result' in o === 'error' in o) {
      t.badReplies.push(JSON.stringify(o).slice(0, 200));
      return;
    }
    if (typeof o.id === 'string' && this.sentinels.has(o.id)) {
      this.sentinels.get(o.id)!();
      this.sentinels.delete(o.id);
    }
    if (o.error) {
      const code = o.error.code as number;
      t.byCode.set(code, (t.byCode.get(code) ?? 0) + 1);
      if (code === -32603) t.internalErrors.push(String(o.error.message).slice(0, 300));
      else if (!KNOWN_CODES.has(code)) t.unknownCodes.push(`${code}: ${String(o.error.message).slice(0, 200)}`);
      if (typeof o.error.message !== 'string' || o.error.message.length === 0)
        t.badReplies.push(`an error without a message: ${JSON.stringify(o)}`);
      return;
    }
    const res = o.result as Record<string, unknown> | null;
    if (res && typeof res === 'object' && 'replayed' in res && 'requestId' in res) {
      if (res.replayed === false) t.traced++;
      if (res.applied !== 0) t.applied.push(`repair ${String(res.requestId)} applied ${String(res.applied)}: ${String(res.summary)}`);
    } else if (res && typeof res === 'object' && 'initialised' in res) {
      t.traced++;
      if ((res.initialised as unknown[]).length) t.applied.push(`initShards initialised ${JSON.stringify(res.initialised)}`);
    }
  }
}

// ------------------------------------------------------------------ test --

describe('chaos: protocol fuzz of the simulator process', function () {
  this.timeout(30 * 60_000);
  let sim: RunningSim;
  let control: ClusterClient;

  before(async () => {
    sim = await startSim(['--scenario', 'incident-all', '--seed', '7', '--token', testSecret('sim')]);
    control = await sim.client();
  });
  after(async () => {
    await sim?.stop();
  });

  /** Probes that a fresh client's `cluster.status` did not answer within 2 s (counted as hangs). */
  const lateProbes: string[] = [];
  /** A fresh client's `cluster.status`: connected, initialized and answered within 2 s. */
  async function probe(): Promise<number> {
    const started = Date.now();
    const connecting = ClusterClient.connect({ url: sim.url, token: sim.token, clientName: 'chaos-probe' });
    try {
      const c = await within(PROBE_DEADLINE_MS, 'a fresh client', connecting);
      try {
        await within(PROBE_DEADLINE_MS - (Date.now() - started), 'cluster.status', c.request('cluster.status', {}));
      } finally {
        c.close();
      }
    } catch (e) {
      lateProbes.push((e as Error).message);
      void connecting.then(
        (c) => c.close(),
        () => undefined,
      );
    }
    return Date.now() - started;
  }

  it(`${COUNTS.messages} hostile messages over ${COUNTS.connections} connections change nothing, crash nothing, hang nothing`, async () => {
    let exited: string | null = null;
    sim.process.once('exit', (code, signal) => (exited = `exit ${code} ${signal}`));

    const status0 = await control.request('cluster.status', {});
    const entities: Keys['entities'] = [];
    for (const c of COLLECTION_NAMES) {
      const page = await control.listPage(c, null, 20);
      for (const e of page.items) entities.push([c, e.key, e.version]);
    }
    const keys: Keys = {
      incarnation: status0.incarnation!,
      epoch: status0.controlPlaneEpoch,
      entities,
      shardKeys: entities.filter(([c]) => c === 'quickwit.metastore.shards').map(([, k]) => k),
    };
    const before = await stateDigest(control);
    const trace0 = await control.request('sim.traceHash', {});

    const tally: Tally = {
      sent: 0,
      replies: 0,
      internalErrors: [],
      badReplies: [],
      unknownCodes: [],
      oversizeCloses: 0,
      unexpectedCloses: [],
      hangs: 0,
      traced: 0,
      applied: [],
      byCode: new Map(),
    };
    let maxProbeMs = 0;
    let probes = 0;

    const runPhase = async (count: number, traced: boolean) => {
      const per = Math.ceil(count / COUNTS.connections);
      await Promise.all(
        Array.from({ length: COUNTS.connections }, async (_, w) => {
          const gen = new Gen(new Rng(SEED * 31 + w * 7919 + (traced ? 1 : 0)), keys, traced);
          // Half the connections never initialize: everything they send meets -32002 once parsed.
          const initialize = w % 2 === 0;
          let conn = await FuzzConnection.open(sim.url, sim.token, tally);
          const init = async (c: FuzzConnection) => {
            if (initialize)
              c.send(
                JSON.stringify({
                  jsonrpc: '2.0',
                  id: 'init',
                  method: 'initialize',
                  params: { protocolVersion: 1, clientName: `fuzz-${w}` },
                }),
              );
            if (w % 4 === 0) c.send(JSON.stringify({ jsonrpc: '2.0', id: 'sub', method: 'cluster.subscribe' }));
          };
          await init(conn);
          let sent = 0;
          let chunk = 0;
          while (sent < per) {
            let oversize = false;
            for (let i = 0; i < CHUNK && sent < per; i++, sent++) {
              const m = gen.message();
              tally.sent++;
              conn.send(m.data, m.binary);
              if (m.oversize) {
                oversize = true;
                break;
              }
            }
            if (oversize) {
              // The server closes this one client with 1009 (message too big); the others carry on.
              await conn.waitClosed(SENTINEL_DEADLINE_MS);
              if (conn.closed?.code === 1009) tally.oversizeCloses++;
              else tally.unexpectedCloses.push(`after an oversize frame: ${JSON.stringify(conn.closed)}`);
              conn.close();
              conn = await FuzzConnection.open(sim.url, sim.token, tally);
              await init(conn);
              continue;
            }
            const s = await conn.sentinel(`sentinel-${w}-${traced ? 'b' : 'a'}-${chunk++}`);
            if (s === 'hang') tally.hangs++;
            if (s !== 'ok') {
              if (s === 'closed') tally.unexpectedCloses.push(JSON.stringify(conn.closed));
              conn.close();
              conn = await FuzzConnection.open(sim.url, sim.token, tally);
              await init(conn);
            }
            if (w === 0 && chunk % 25 === 0) {
              maxProbeMs = Math.max(maxProbeMs, await probe());
              probes++;
            }
          }
          conn.close();
        }),
      );
      maxProbeMs = Math.max(maxProbeMs, await probe());
      probes++;
    };

    const started = Date.now();
    const phaseA = Math.round(COUNTS.messages * 0.75);
    await runPhase(phaseA, false);
    assert.equal(exited, null, 'the simulator process is still running');
    const traceA = await control.request('sim.traceHash', {});
    const stateChangesA = traceA.traceHash === trace0.traceHash ? 0 : 1;
    assert.equal(tally.traced, 0, 'phase A sends nothing that is traced');
    assert.deepEqual(traceA, trace0, 'phase A: the trace hash is exactly what it was');

    await runPhase(COUNTS.messages - phaseA, true);
    assert.equal(exited, null, 'the simulator process is still running');
    const traceB = await control.request('sim.traceHash', {});
    const after = await stateDigest(control);
    // A client that never initialized is still refused: nothing leaked into shared or prototype state.
    const fresh = await FuzzConnection.open(sim.url, sim.token, {
      ...tally,
      byCode: new Map(),
      internalErrors: [],
      badReplies: [],
    } as Tally);
    const notInit = await new Promise<{ error?: { code: number } }>((resolve) => {
      fresh.ws.once('message', (d) => resolve(JSON.parse(d.toString())));
      fresh.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'cluster.status' }));
    });
    fresh.close();
    const seconds = (Date.now() - started) / 1000;

    const stateChanges =
      stateChangesA +
      (after.digest === before.digest ? 0 : 1) +
      tally.applied.length +
      (traceB.events - trace0.events === tally.traced ? 0 : 1);
    report('protocol fuzz', {
      tries: tally.sent,
      crashes: (exited ? 1 : 0) + tally.internalErrors.length,
      hangs: tally.hangs + lateProbes.length,
      stateChanges,
      entitiesLost: 0,
      refusedAsExpected: tally.byCode.get(-32011) ?? 0,
      notes: {
        replies: tally.replies,
        'refused repairs traced': tally.traced,
        'oversize closes': tally.oversizeCloses,
        'max probe ms': maxProbeMs,
        'late probes': lateProbes.length,
        probes,
        codes: [...tally.byCode]
          .sort((a, b) => a[0] - b[0])
          .map(([c, n]) => `${c}×${n}`)
          .join(' '),
        seconds: seconds.toFixed(1),
      },
    });

    assert.deepEqual(tally.internalErrors, [], 'no request ends in an internal error');
    assert.deepEqual(tally.badReplies, [], 'every reply is JSON-RPC 2.0');
    assert.deepEqual(tally.unknownCodes, [], 'every error code is one the protocol defines');
    assert.deepEqual(tally.unexpectedCloses, [], 'no connection is closed but for an oversize frame');
    assert.equal(tally.hangs, 0, 'every connection answered its sentinel');
    assert.deepEqual(lateProbes, [], `a fresh client is answered within ${PROBE_DEADLINE_MS} ms`);
    assert.deepEqual(tally.applied, [], 'no hostile repair or write applied anything');
    assert.equal(after.status.seq, before.status.seq, 'no change event');
    assert.equal(after.digest, before.digest, 'every entity of every collection, and the status, as before');
    assert.equal(
      traceB.events - trace0.events,
      tally.traced,
      'the trace grew by the refused repairs (and empty writes) answered, nothing else',
    );
    assert.equal(notInit.error?.code, -32002, 'a new client must still initialize first');
    assert.ok(tally.sent >= COUNTS.messages);
  });
});
