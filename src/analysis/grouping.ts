/**
 * How entities of each collection are grouped: defined in `src/protocol/grouping.ts`, because a
 * cluster counts its groups with it too (`cluster.summary`), and the cluster layer sees only the
 * protocol. Re-exported here for the checks and the snapshot language.
 */
export { groupIterator, groupOf, isGrouped, shardGroup, STATE_FIELD, stateOf } from '../protocol/grouping';
