/**
 * Milvus's streaming metadata in etcd, in the upstream layout (milvus-io/milvus
 * master; pkg/proto/streaming.proto at 013ee698, the key constants at 03ac062e):
 *
 * - `{rootPath}/{metaSubPath}/streamingcoord-meta/pchannel/<pchannel>`: binary
 *   protobuf `milvus.proto.streaming.PChannelMeta`
 *   (`internal/metastore/kv/streamingcoord/constant.go`, `kv_catalog.go`;
 *   proto/milvus/streaming.proto here).
 * - `{rootPath}/{metaSubPath}/session/streamingnode-<ServerID>`: the node's
 *   session JSON (`internal/util/sessionutil/session_util.go`):
 *   `ServerID, ServerName, Address, Exclusive?, Stopping?, TriggerKill, Version`,
 *   on the node's lease. `Stopping` is set when the node begins its graceful
 *   stop (`GoingStop`); the key goes when the node stops (lease revoked).
 *
 * What etcd does not hold (docs/gateway.md, Milvus): when the stop was
 * requested and the pod's grace period (the reader's clock when it first saw
 * `Stopping`, and the gateway config); the WAL's in-memory state and its
 * in-flight appends. A WAL is derived from a pchannel assigned to a live
 * session: `closing` = the session is Stopping, `recovering` = closing a WAL
 * opened at a term above 1 (it moved, so it replays before it serves), and
 * `inFlightAppends` = 1 for such a WAL — a lower bound: a Close that has not
 * handed the channel back waits only on in-flight appends. `milvus.appends`
 * is never filled from etcd.
 */
import type { PChannelMeta, StreamingNode, WalState } from '../protocol';
import { keys } from '../protocol';
import { utf8, type EtcdKv } from './etcd-kv';
import { protoType } from './protobuf';
import streamingProto from '../../proto/milvus/streaming.proto';

/** proto/milvus/streaming.proto (the upstream excerpt, with its source and license), embedded as text by the build. */
export const MILVUS_STREAMING_PROTO: string = streamingProto;

const PChannelMetaType = protoType(MILVUS_STREAMING_PROTO, 'milvus.proto.streaming.PChannelMeta');

export const STREAMING_NODE = 'streamingnode';

export function metaRoot(rootPath: string, metaSubPath: string): string {
  return `${rootPath}/${metaSubPath}/`;
}
export function pchannelPrefix(rootPath: string, metaSubPath: string): string {
  return `${metaRoot(rootPath, metaSubPath)}streamingcoord-meta/pchannel/`;
}
export function sessionPrefix(rootPath: string, metaSubPath: string): string {
  return `${metaRoot(rootPath, metaSubPath)}session/${STREAMING_NODE}-`;
}

/** A decoded `PChannelMeta`, with what the entity does not carry. */
export interface PChannelRecord {
  channel: string;
  term: number;
  accessMode: 'PCHANNEL_ACCESS_READWRITE' | 'PCHANNEL_ACCESS_READONLY';
  node: { serverId: number; address: string } | null;
  state: 'PCHANNEL_META_STATE_UNKNOWN' | PChannelMeta['state'];
  histories: { term: number; node: { serverId: number; address: string } | null; accessMode: PChannelRecord['accessMode'] }[];
  lastAssignTimestampSeconds: number;
}

type Long = { toNumber(): number } | number | string;
const num = (v: Long | undefined | null): number => (v === undefined || v === null ? 0 : typeof v === 'object' ? v.toNumber() : Number(v));

interface PbNode {
  server_id?: Long;
  address?: string;
}
function nodeOf(n: PbNode | undefined | null): PChannelRecord['node'] {
  return n ? { serverId: num(n.server_id), address: n.address ?? '' } : null;
}

export function decodePChannelMeta(bytes: Uint8Array): PChannelRecord {
  const msg = PChannelMetaType.decode(bytes);
  const o = PChannelMetaType.toObject(msg, { enums: String, defaults: true }) as {
    channel?: { name: string; term: Long; access_mode: string };
    node?: PbNode;
    state: string;
    histories: { term: Long; node?: PbNode; access_mode: string }[];
    last_assign_timestamp_seconds: Long;
  };
  if (!o.channel || !o.channel.name) throw new Error('PChannelMeta has no channel name');
  const state = o.state as PChannelRecord['state'];
  if (!/^PCHANNEL_META_STATE_/.test(state)) throw new Error(`PChannelMeta.state ${state} is not a PChannelMetaState`);
  return {
    channel: o.channel.name,
    term: num(o.channel.term),
    accessMode: o.channel.access_mode as PChannelRecord['accessMode'],
    node: nodeOf(o.node),
    state,
    histories: o.histories.map((h) => ({ term: num(h.term), node: nodeOf(h.node), accessMode: h.access_mode as PChannelRecord['accessMode'] })),
    lastAssignTimestampSeconds: num(o.last_assign_timestamp_seconds),
  };
}

export function encodePChannelMeta(r: PChannelRecord): Uint8Array {
  const node = (n: PChannelRecord['node']) => (n ? { server_id: n.serverId, address: n.address } : undefined);
  const msg = PChannelMetaType.fromObject({
    channel: { name: r.channel, term: r.term, access_mode: r.accessMode },
    node: node(r.node),
    state: r.state,
    histories: r.histories.map((h) => ({ term: h.term, node: node(h.node), access_mode: h.accessMode })),
    last_assign_timestamp_seconds: r.lastAssignTimestampSeconds,
  });
  return PChannelMetaType.encode(msg).finish();
}

/** The `streamingcoord-meta` entity of a pchannel. UNKNOWN ("should never used") and a missing node are unreadable. */
export function channelMetaEntity(r: PChannelRecord, version: number): PChannelMeta {
  if (r.state === 'PCHANNEL_META_STATE_UNKNOWN') throw new Error('PChannelMeta.state is PCHANNEL_META_STATE_UNKNOWN');
  return {
    key: r.channel,
    version,
    channel: r.channel,
    node: r.node?.serverId ?? 0,
    term: r.term,
    state: r.state,
    lastAssignTimestampSeconds: r.lastAssignTimestampSeconds,
  };
}

/** A streaming node's session (`sessionutil.Session` JSON). */
export interface SessionRecord {
  ServerID: number;
  ServerName: string;
  Address: string;
  Exclusive?: boolean;
  Stopping?: boolean;
  TriggerKill: boolean;
  Version: string;
}

export function decodeSession(bytes: Uint8Array): SessionRecord {
  const v = JSON.parse(utf8(bytes)) as unknown;
  if (typeof v !== 'object' || v === null) throw new Error('session is not a JSON object');
  const s = v as Record<string, unknown>;
  if (typeof s.ServerID !== 'number' || !Number.isInteger(s.ServerID)) throw new Error('session.ServerID is not an integer');
  if (s.ServerName !== undefined && typeof s.ServerName !== 'string') throw new Error('session.ServerName is not a string');
  if (typeof s.Address !== 'string') throw new Error('session.Address is not a string');
  if (s.Stopping !== undefined && typeof s.Stopping !== 'boolean') throw new Error('session.Stopping is not a boolean');
  if (s.Version !== undefined && typeof s.Version !== 'string') throw new Error('session.Version is not a string');
  return {
    ServerID: s.ServerID,
    ServerName: (s.ServerName as string | undefined) ?? '',
    Address: s.Address,
    Stopping: s.Stopping === true,
    TriggerKill: s.TriggerKill === true,
    Version: (s.Version as string | undefined) ?? '',
  };
}

/** The session JSON as `MarshalJSON` writes it (`Exclusive`/`Stopping` omitted when false). */
export function encodeSession(s: SessionRecord): Uint8Array {
  return Buffer.from(
    JSON.stringify({
      ServerID: s.ServerID,
      ServerName: s.ServerName,
      Address: s.Address,
      ...(s.Exclusive ? { Exclusive: true } : {}),
      ...(s.Stopping ? { Stopping: true } : {}),
      TriggerKill: s.TriggerKill,
      Version: s.Version,
    }),
  );
}

/** The session's `Version` for a build name: a semver (`2.6.0-<build>`) unless it already is one. */
export function versionOfBuild(build: string): string {
  return /^\d+\.\d+\.\d+/.test(build) ? build : `2.6.0-${build}`;
}

export interface MilvusDecodeOptions {
  /** The reader's clock when it first saw the node Stopping (etcd does not record when the stop was asked). */
  stopSeenAt(serverId: number): number;
  /** The pods' `terminationGracePeriodSeconds` (not in etcd). */
  gracePeriodSeconds: number;
}

export interface SessionKv {
  kv: EtcdKv;
  session: SessionRecord;
}
export interface PChannelKv {
  kv: EtcdKv;
  meta: PChannelRecord;
}

export function nodeEntity(s: SessionKv, o: MilvusDecodeOptions): StreamingNode {
  const stopping = s.session.Stopping === true;
  return {
    key: keys.node(s.session.ServerID),
    version: s.kv.modRevision,
    serverId: s.session.ServerID,
    address: s.session.Address,
    build: s.session.Version,
    lifecycle: stopping ? 'Terminating' : 'Running',
    stopRequestedAt: stopping ? o.stopSeenAt(s.session.ServerID) : null,
    gracePeriodSeconds: o.gracePeriodSeconds,
  };
}

/**
 * The WAL a live node holds for a pchannel assigned (or being assigned) to it.
 * Its version is the newer of the pchannel's and the session's `mod_revision`:
 * a repair conditioned on it compares both keys.
 */
export function walEntity(m: PChannelKv, s: SessionKv): WalState {
  const closing = s.session.Stopping === true;
  const recovering = closing && m.meta.term > 1;
  return {
    key: keys.wal(s.session.ServerID, m.meta.channel),
    version: Math.max(m.kv.modRevision, s.kv.modRevision),
    serverId: s.session.ServerID,
    channel: m.meta.channel,
    term: m.meta.term,
    available: m.meta.state === 'PCHANNEL_META_STATE_ASSIGNED',
    accessMode: m.meta.accessMode,
    recovering,
    closing,
    inFlightAppends: recovering ? 1 : 0,
  };
}

/** Nodes and WALs from the sessions and pchannel metas (the coordinator's assignment to live nodes). */
export function deriveNodesAndWals(sessions: Iterable<SessionKv>, metas: Iterable<PChannelKv>, o: MilvusDecodeOptions): { nodes: StreamingNode[]; wals: WalState[] } {
  const byId = new Map<number, SessionKv>();
  for (const s of sessions) byId.set(s.session.ServerID, s);
  const nodes = [...byId.values()].map((s) => nodeEntity(s, o));
  const wals: WalState[] = [];
  for (const m of metas) {
    if (m.meta.state !== 'PCHANNEL_META_STATE_ASSIGNED' && m.meta.state !== 'PCHANNEL_META_STATE_ASSIGNING') continue;
    const s = m.meta.node && byId.get(m.meta.node.serverId);
    if (s) wals.push(walEntity(m, s));
  }
  return { nodes, wals };
}
