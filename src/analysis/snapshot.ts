/**
 * The snapshot language (`.clustersnap`): a cluster's state as readable,
 * line-oriented text. Saved snapshots on disk and the live virtual documents
 * (`cluster://NAME/NAME.SUBSYSTEM.clustersnap`) are the same language, so the same
 * checks and diagnostics work on both.
 *
 * ```
 * # Cluster snapshot of sim at t=1200 (seq 763503).
 * cluster sim scenario=quickwit-dangling-shards seed=1 time=1200 seq=763503 controlPlaneEpoch=1
 * bugs shards=buggy wal=buggy ddl=buggy regions=buggy partitions=buggy
 * config maxRunningProcedures=128 maxRetryTimes=3 etcdQuotaBytes=2147483648
 * counts quickwit.metastore.shards=763471 quickwit.controlPlane.shards=3000
 *
 * [shards]  # Shards
 * [quickwit.metastore.shards]  # metastore: 763,471 shard entities
 * shard otel-logs:01HX/_ingest-source/01J0000001 leaderId=ingester-1 docMappingUid=01HX shardState=open publishPositionInclusive="" createdAt=12 version=1
 * [quickwit.controlPlane.shards]  # control plane: 3,000 shard entities
 * shard otel-logs:01HX/_ingest-source/01J0000002 leaderId=ingester-1 shardState=open version=4
 *
 * [partitions]  # Partitions
 * [fluvio.partitions]  # SC: 1 partition entities
 * partition events-0 resolution=Online leader={"spu":5001,"hw":90,"leo":90} lsr=1 replicas=[5001] size=1048576 isBeingDeleted=false version=7
 * ```
 *
 * Rules:
 * - `#` starts a comment (a whole line, or after a blank at the end of a line).
 * - Header lines (before the sections): `cluster NAME scenario= seed= time= seq= controlPlaneEpoch=`,
 *   `bugs SUBSYSTEM=buggy|fixed …`, `config NAME=INT …` (the cluster's limits), `counts COLLECTION=INT …`.
 * - `[SUBSYSTEM]` starts a subsystem (shards, wal, ddl, regions, partitions); `[COLLECTION]`
 *   starts one component's view (a protocol collection name). Entities belong to the last one.
 * - One line per entity: `KIND KEY field=value … version=N`. KIND is the collection's word
 *   (`shard`, `node`, `wal`, `append`, `pchannel`, `procedure`, `prefix`, `region`, `batch`,
 *   `partition`, `report`, `spu`, `ingester`); fields are the protocol's field names.
 * - Values: bare words (`open`, `ingester-1`, `42`, `true`), JSON strings when a value is empty or
 *   holds blanks, quotes, `#` or `=` (`""`, `"disk full"`), JSON for lists and objects.
 *   A nullable field that is null is left out. Fields the key already spells out (a shard's
 *   index, source and id; a region's store and id; …) are left out when they match the key.
 * - `group NAME count=N`: in a virtual document, the entities of a group of more than
 *   GROUP_SUMMARY_THRESHOLD (e.g. 760,000 dangling shards of one source) as one line. A file
 *   that contains group lines does not hold those entities; the parser reports them in `summarised`.
 *
 * - The timeline (optional, at the end): `#@ timeline transitions=N dropped=N`, then one
 *   `#@ transition KEY collection=C seq=N time=N from=STATE to=STATE` per recorded state transition,
 *   oldest first (`from` left out: the entity appeared; `to` left out: it was deleted). `#@ ` lines
 *   are comments to a reader that predates them: it reads the model and skips the timeline.
 *
 * `parseSnapshot(renderSnapshot(model))` gives back an equal model, status included, and
 * `parseSnapshotDocument(renderSnapshot(model, { timeline })).timeline` the same transitions.
 *
 * At the incident's scale a file is a few hundred MB: `renderSnapshotChunks` renders it as
 * chunks of whole lines, pulled one at a time, and `parseSnapshotStream` parses it from a stream of
 * chunks, line by line, so neither holds the whole text. The string functions are built on them.
 */
export {
  GROUP_SUMMARY_THRESHOLD,
  renderEntity,
  renderSnapshot,
  renderSnapshotChunks,
  renderSnapshotDocument,
  renderSubsystem,
  SNAPSHOT_CHUNK_CHARS,
} from './snapshot/render';
export type { DocumentIndex, RenderedDocument, SnapshotExtras } from './snapshot/render';
export { MAX_SYNTAX_ERRORS, parseSnapshot, parseSnapshotDocument, parseSnapshotStream, SnapshotParser } from './snapshot/parse';
export type { ParsedSnapshot, SnapshotSyntaxError, SummarisedGroup } from './snapshot/parse';
export { ENTITY_KINDS } from './snapshot/layout';
