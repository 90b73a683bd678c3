/**
 * The simulator mirrored into etcd (`cluster-sim --etcd URL`): GreptimeDB's
 * metasrv procedures and Milvus's streaming metadata, written in their
 * upstream layouts by the same codecs the gateway reads them with
 * (src/codecs/greptime.ts, src/codecs/milvus.ts), with metasrv's default
 * `store_key_prefix` ("") and Milvus's default `by-dev/meta`.
 *
 * The mirror keeps what it last wrote; each change batch writes only the keys
 * whose content changed (and deletes those the simulator no longer has), in
 * transactions of at most 100 operations (etcd's default `--max-txn-ops` is 128).
 * Milvus sessions are written without a lease (a real node keeps its own on one); a stopping
 * node's channels are written as 2.6's balancer leaves them (ASSIGNING to a Running node, the
 * stopping node in `histories`), the shape #41307 takes on a real cluster.
 */
import { Etcd3 } from 'etcd3';
import { encodeProcedure, ETCD_PREFIXES, procedureRoot, TABLE_INFO_PREFIX, TABLE_NAME_PREFIX } from '../../codecs/greptime';
import { encodePChannelMeta, encodeSession, pchannelPrefix, sessionPrefix, STREAMING_NODE, versionOfBuild } from '../../codecs/milvus';
import type { EventsNotification } from '../../protocol';
import type { Simulator } from '../simulator';
import type { StoreMirror } from './mirror';

const ROOT_PATH = 'by-dev';
const META_SUB_PATH = 'meta';
const MAX_OPS = 100;

/** Every key the simulator's state is stored as, with its value. */
export function etcdRecordsOf(sim: Simulator): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  const root = procedureRoot('');
  for (const p of sim.entities('greptime.procedures')) {
    // One persisted step per try; a Failed procedure's keys were deleted by metasrv's runner (`Runner::run`).
    for (const kv of encodeProcedure(root, p, p.retries)) out.set(kv.key, kv.value);
  }
  // Table metadata: as many keys as the simulator counts, of its average size.
  for (const prefix of [TABLE_INFO_PREFIX, TABLE_NAME_PREFIX]) {
    const e = [...sim.entities('greptime.etcd')].find((x) => x.prefix === prefix);
    if (!e || e.keyCount === 0) continue;
    const size = Math.max(1, Math.round(e.sizeBytes / e.keyCount));
    for (let i = 0; i < e.keyCount; i++) out.set(`${prefix}${1024 + i}`, Buffer.alloc(size, 0x7b));
  }
  const sessions = sessionPrefix(ROOT_PATH, META_SUB_PATH);
  for (const n of sim.entities('milvus.nodes')) {
    if (n.lifecycle === 'Stopped') continue; // the node is gone: its session went with its lease
    out.set(
      `${sessions}${n.serverId}`,
      encodeSession({
        ServerID: n.serverId,
        ServerName: STREAMING_NODE,
        Address: n.address,
        Stopping: n.lifecycle === 'Terminating',
        TriggerKill: true,
        Version: versionOfBuild(n.build),
      }),
    );
  }
  const pchannels = pchannelPrefix(ROOT_PATH, META_SUB_PATH);
  const nodes = new Map([...sim.entities('milvus.nodes')].map((n) => [n.serverId, n]));
  const metas = [...sim.entities('milvus.channelMetas')];
  const load = new Map<number, number>();
  for (const m of metas) load.set(m.node, (load.get(m.node) ?? 0) + 1);
  const address = (id: number) => nodes.get(id)?.address ?? '';
  for (const m of metas) {
    const owner = nodes.get(m.node);
    // A channel of a stopping node in the shape 2.6's balancer persists before it asks the node to
    // remove its WAL (balancer_impl.go, balance(); channel/pchannel.go, TryAssignToServerID): the
    // history gets the old (term, node), the term goes up by one, the new node is set, ASSIGNING;
    // last_assign_timestamp_seconds is untouched (only AssignToServerDone sets it).
    let target: number | undefined;
    if (owner?.lifecycle === 'Terminating' && m.state === 'PCHANNEL_META_STATE_ASSIGNED') {
      for (const n of nodes.values()) {
        if (n.lifecycle !== 'Running') continue;
        if (target === undefined || (load.get(n.serverId) ?? 0) < (load.get(target) ?? 0)) target = n.serverId;
      }
    }
    out.set(
      `${pchannels}${m.channel}`,
      encodePChannelMeta(
        target === undefined
          ? {
              channel: m.channel,
              term: m.term,
              accessMode: 'PCHANNEL_ACCESS_READWRITE',
              node: { serverId: m.node, address: address(m.node) },
              state: m.state,
              histories: [],
              lastAssignTimestampSeconds: m.lastAssignTimestampSeconds,
            }
          : {
              channel: m.channel,
              term: m.term + 1,
              accessMode: 'PCHANNEL_ACCESS_READWRITE',
              node: { serverId: target, address: address(target) },
              state: 'PCHANNEL_META_STATE_ASSIGNING',
              histories: [{ term: m.term, node: { serverId: m.node, address: address(m.node) }, accessMode: 'PCHANNEL_ACCESS_READWRITE' }],
              lastAssignTimestampSeconds: m.lastAssignTimestampSeconds,
            },
      ),
    );
  }
  return out;
}

/** The prefixes the mirror owns (cleared at the first sync). */
export const MIRRORED_PREFIXES = [...ETCD_PREFIXES, sessionPrefix(ROOT_PATH, META_SUB_PATH), pchannelPrefix(ROOT_PATH, META_SUB_PATH)];

function same(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

export function createEtcdMirror(target: string): StoreMirror {
  const client = new Etcd3({ hosts: target.split(','), dialTimeout: 5000 });
  let written = new Map<string, Uint8Array>();

  const write = async (puts: [string, Uint8Array][], dels: string[]) => {
    const ops = [...puts.map(([k, v]) => client.put(k).value(Buffer.from(v))), ...dels.map((k) => client.delete().key(k))];
    for (let i = 0; i < ops.length; i += MAX_OPS) {
      await client
        .if('__cluster_sim_mirror__', 'Create', '==', 0)
        .then(...ops.slice(i, i + MAX_OPS))
        .commit();
    }
  };

  const diff = async (sim: Simulator) => {
    const desired = etcdRecordsOf(sim);
    const puts: [string, Uint8Array][] = [];
    for (const [k, v] of desired) {
      const prev = written.get(k);
      if (!prev || !same(prev, v)) puts.push([k, v]);
    }
    const dels = [...written.keys()].filter((k) => !desired.has(k));
    await write(puts, dels);
    written = desired;
  };

  return {
    target: `etcd ${target}`,
    async sync(sim) {
      for (const p of MIRRORED_PREFIXES) await client.delete().prefix(p).exec();
      written = new Map();
      await diff(sim);
    },
    async apply(sim: Simulator, _events: EventsNotification) {
      await diff(sim);
    },
    async close() {
      client.close();
    },
  };
}
