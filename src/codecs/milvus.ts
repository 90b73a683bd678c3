/**
 * Milvus's streaming metadata in etcd, in the upstream layout (milvus-io/milvus;
 * pkg/proto/streaming.proto at 013ee698, the key constants at 03ac062e):
 *
 * - `{rootPath}/{metaSubPath}/streamingcoord-meta/pchannel/<pchannel>`: binary
 *   protobuf `milvus.proto.streaming.PChannelMeta`
 *   (`internal/metastore/kv/streamingcoord/constant.go`, `kv_catalog.go`;
 *   proto/milvus/streaming.proto here). Written only by the streaming
 *   coordinator, from its memory (`SavePChannels`, unconditional puts), and read
 *   by it only when it starts (`channel/manager.go`, `RecoverChannelManager`).
 * - `{rootPath}/{metaSubPath}/session/<role>[-<ServerID>]`: a component's
 *   session JSON on its lease (`internal/util/sessionutil/session_util.go`,
 *   `SessionRaw`). Streaming nodes: `streamingnode-<ServerID>`; `Stopping` is
 *   set by `GoingStop` when the node begins its graceful stop; the key goes with
 *   the lease when the process ends. The streaming coordinator runs inside the
 *   active coordinator: `mixcoord` (2.6 and later), `rootcoord` or `datacoord`
 *   (2.5), `streamingcoord` where it runs alone.
 *
 * The pchannel meta's lifecycle (`channel/pchannel.go` at 07fa2cbd):
 * `newPChannelMeta` writes term 1, UNINITIALIZED; `TryAssignToServerID` appends
 * the current (term, node, access mode) to `histories` unless UNINITIALIZED,
 * increments the term and sets the new node, ASSIGNING — so the first
 * assignment is at term 2; `AssignToServerDone` clears `histories`, sets
 * ASSIGNED and `last_assign_timestamp_seconds`; `MarkAsUnavailable(term)` sets
 * UNAVAILABLE on an ASSIGNED channel at that term, keeping the term. In 2.6 the
 * balancer persists ASSIGNING (the old owner in `histories`) *before* it asks
 * each old owner to remove its WAL (`balancer_impl.go`, `balance()`,
 * `applyBalanceResultToStreamingNode`): until every old owner confirmed, the
 * channel stays ASSIGNING with them in `histories`.
 *
 * What etcd does not hold (docs/gateway.md, Milvus): when the stop was
 * requested and the pod's grace period (the reader's clock when it first saw
 * `Stopping`, and the gateway config); the WAL's recovery and its in-flight
 * appends (the streaming node's memory): a WAL derived here has `recovering`
 * and `inFlightAppends` null (unknown), never false or 0.
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
  state: PChannelMeta['state'];
  /** The state's number when this proto does not name it (shown as UNKNOWN). */
  stateNumber?: number;
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
  // proto3 enums are open: upstream's Go code reads a state number it does not name (a newer
  // writer's) without error, so it is kept, not refused.
  const named = typeof o.state === 'string' && /^PCHANNEL_META_STATE_/.test(o.state);
  const state = (named ? o.state : 'PCHANNEL_META_STATE_UNKNOWN') as PChannelRecord['state'];
  return {
    channel: o.channel.name,
    term: num(o.channel.term),
    accessMode: o.channel.access_mode as PChannelRecord['accessMode'],
    node: nodeOf(o.node),
    state,
    histories: o.histories.map((h) => ({
      term: num(h.term),
      node: nodeOf(h.node),
      accessMode: h.access_mode as PChannelRecord['accessMode'],
    })),
    lastAssignTimestampSeconds: num(o.last_assign_timestamp_seconds),
    ...(named ? {} : { stateNumber: Number(o.state) }),
  };
}

export function encodePChannelMeta(r: PChannelRecord): Uint8Array {
  const node = (n: PChannelRecord['node']) => (n ? { server_id: n.serverId, address: n.address } : undefined);
  const msg = PChannelMetaType.fromObject({
    channel: { name: r.channel, term: r.term, access_mode: r.accessMode },
    node: node(r.node),
    state: r.stateNumber ?? r.state,
    histories: r.histories.map((h) => ({ term: h.term, node: node(h.node), access_mode: h.accessMode })),
    last_assign_timestamp_seconds: r.lastAssignTimestampSeconds,
  });
  return PChannelMetaType.encode(msg).finish();
}

/** The `streamingcoord-meta` entity of a pchannel (node 0: none, as upstream's `GetServerId()` of a nil node). */
export function channelMetaEntity(r: PChannelRecord, version: number): PChannelMeta {
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

/**
 * A component's session (`sessionutil.SessionRaw` JSON: `ServerID`, `ServerName`, `Address`,
 * `Exclusive`/`Stopping` omitted when false, `Version` always, `IndexEngineVersion`,
 * `ScalarIndexEngineVersion`, `LeaseID`, `HostName`, `ServerLabels`; older releases also `TriggerKill`).
 * Fields this reader does not use are ignored, as Go's `json.Unmarshal` ignores unknown ones.
 */
export interface SessionRecord {
  ServerID: number;
  ServerName: string;
  Address: string;
  Exclusive?: boolean;
  Stopping?: boolean;
  TriggerKill?: boolean;
  Version: string;
  /** The pod's host name (`os.Hostname()`): the pod to act on. */
  HostName?: string;
}

export function decodeSession(bytes: Uint8Array): SessionRecord {
  const v = JSON.parse(utf8(bytes)) as unknown;
  if (typeof v !== 'object' || v === null) throw new Error('session is not a JSON object');
  const s = v as Record<string, unknown>;
  if (typeof s.ServerID !== 'number' || !Number.isInteger(s.ServerID)) throw new Error('session.ServerID is not an integer');
  if (s.ServerName !== undefined && typeof s.ServerName !== 'string') throw new Error('session.ServerName is not a string');
  if (s.Address !== undefined && typeof s.Address !== 'string') throw new Error('session.Address is not a string');
  if (s.Stopping !== undefined && typeof s.Stopping !== 'boolean') throw new Error('session.Stopping is not a boolean');
  if (s.Version !== undefined && typeof s.Version !== 'string') throw new Error('session.Version is not a string');
  if (s.HostName !== undefined && typeof s.HostName !== 'string') throw new Error('session.HostName is not a string');
  return {
    ServerID: s.ServerID,
    ServerName: (s.ServerName as string | undefined) ?? '',
    Address: (s.Address as string | undefined) ?? '',
    Exclusive: s.Exclusive === true,
    Stopping: s.Stopping === true,
    TriggerKill: s.TriggerKill === true,
    Version: (s.Version as string | undefined) ?? '',
    ...(typeof s.HostName === 'string' ? { HostName: s.HostName } : {}),
  };
}

/**
 * The session JSON as `Session.MarshalJSON` writes it (`json.Marshal(SessionRaw)`, master at
 * 008330af): zero-valued `omitempty` scalars omitted, the engine-version structs always present
 * (`omitempty` does not omit a struct). `LeaseID` is left out: the simulator's sessions have no lease.
 */
export function encodeSession(s: SessionRecord): Uint8Array {
  return Buffer.from(
    JSON.stringify({
      ...(s.ServerID ? { ServerID: s.ServerID } : {}),
      ...(s.ServerName ? { ServerName: s.ServerName } : {}),
      ...(s.Address ? { Address: s.Address } : {}),
      ...(s.Exclusive ? { Exclusive: true } : {}),
      ...(s.Stopping ? { Stopping: true } : {}),
      Version: s.Version,
      IndexEngineVersion: {},
      ScalarIndexEngineVersion: {},
      ...(s.HostName ? { HostName: s.HostName } : {}),
    }),
  );
}

/** The session's `Version` for a build name: a semver (`2.6.0-<build>`) unless it already is one. */
export function versionOfBuild(build: string): string {
  return /^\d+\.\d+\.\d+/.test(build) ? build : `2.6.0-${build}`;
}

/**
 * The session keys of the roles the streaming coordinator runs in (exclusive sessions: the active
 * one holds `<role>`, a standby `<role>-<ServerID>`): `mixcoord` (2.6 and later), `rootcoord` and
 * `datacoord` (2.5, where it was embedded in them), `streamingcoord`.
 */
export const STREAMING_COORD_ROLES = ['mixcoord', 'streamingcoord', 'rootcoord', 'datacoord'] as const;
export function coordinatorSessionPrefixes(rootPath: string, metaSubPath: string): string[] {
  return STREAMING_COORD_ROLES.map((r) => `${metaRoot(rootPath, metaSubPath)}session/${r}`);
}
/** The role of a coordinator session key (`…/session/mixcoord`, `…/session/mixcoord-7`), or undefined. */
export function coordinatorRoleOf(key: string, rootPath: string, metaSubPath: string): string | undefined {
  const rest = key.startsWith(`${metaRoot(rootPath, metaSubPath)}session/`)
    ? key.slice(`${metaRoot(rootPath, metaSubPath)}session/`.length)
    : undefined;
  const m = rest === undefined ? null : /^([a-z]+)(?:-\d+)?$/.exec(rest);
  return m && (STREAMING_COORD_ROLES as readonly string[]).includes(m[1]!) ? m[1] : undefined;
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

/** States in which the channel's current node holds (or is opening) its WAL. */
const HELD: ReadonlySet<PChannelMeta['state']> = new Set([
  'PCHANNEL_META_STATE_ASSIGNING',
  'PCHANNEL_META_STATE_ASSIGNED',
  'PCHANNEL_META_STATE_DROPPING',
]);

/**
 * The WALs a pchannel meta says live nodes hold, each with its version the newer of the pchannel's
 * and the session's `mod_revision` (a repair conditioned on it compares both keys):
 * - its current node, while ASSIGNING (opening, not available yet), ASSIGNED (available) or
 *   DROPPING; closing when that node is Stopping (its graceful stop closes its WALs);
 * - each node in `histories` (only there while ASSIGNING): the coordinator asked it to remove the
 *   WAL at that term and has not confirmed it (`AssignToServerDone` clears them), so its close is
 *   pending — this is where 2.6 leaves a node whose close blocks (#41307).
 * `recovering` and `inFlightAppends` are the node's memory: null, unknown.
 */
export function walsOf(m: PChannelKv, byId: ReadonlyMap<number, SessionKv>): WalState[] {
  const out = new Map<number, WalState>();
  const add = (s: SessionKv | undefined, term: number, accessMode: PChannelRecord['accessMode'], available: boolean, closing: boolean) => {
    if (!s) return;
    const prev = out.get(s.session.ServerID);
    if (prev && prev.term >= term) return; // one WAL per node and channel: the newest term it was given
    out.set(s.session.ServerID, {
      key: keys.wal(s.session.ServerID, m.meta.channel),
      version: Math.max(m.kv.modRevision, s.kv.modRevision),
      serverId: s.session.ServerID,
      channel: m.meta.channel,
      term,
      available,
      accessMode,
      recovering: null,
      closing,
      inFlightAppends: null,
    });
  };
  if (m.meta.state === 'PCHANNEL_META_STATE_ASSIGNING') {
    for (const h of m.meta.histories) if (h.node) add(byId.get(h.node.serverId), h.term, h.accessMode, false, true);
  }
  if (HELD.has(m.meta.state) && m.meta.node) {
    const s = byId.get(m.meta.node.serverId);
    add(s, m.meta.term, m.meta.accessMode, m.meta.state === 'PCHANNEL_META_STATE_ASSIGNED', s?.session.Stopping === true);
  }
  return [...out.values()];
}

/** Nodes and WALs from the sessions and pchannel metas (the coordinator's assignment to live nodes). */
export function deriveNodesAndWals(
  sessions: Iterable<SessionKv>,
  metas: Iterable<PChannelKv>,
  o: MilvusDecodeOptions,
): { nodes: StreamingNode[]; wals: WalState[] } {
  const byId = new Map<number, SessionKv>();
  for (const s of sessions) byId.set(s.session.ServerID, s);
  const nodes = [...byId.values()].map((s) => nodeEntity(s, o));
  const wals: WalState[] = [];
  for (const m of metas) wals.push(...walsOf(m, byId));
  return { nodes, wals };
}
