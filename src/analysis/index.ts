/**
 * The analysis layer's public surface. Pure functions only: no I/O, no clock.
 * Shared by the language server, the CLI and the tests.
 */
export * from './model';
export { EntityTable, StringInterner } from './table';
export * from './checks';
export * from './snapshot';
export { groupOf, isGrouped, shardGroup, stateOf, STATE_FIELD } from './grouping';
export { formatBytes, formatCount, formatDuration, plural } from '../protocol/format';
export * from './diff';
export { previewRepair, previewSummary, renderPreviewText, type PreviewInput, type PreviewOptions } from './preview';
export { OverlayMap } from './overlay';
export * from './locate';
export { stuckWork } from './stuck';
export { clusterTopology, type TopologyOptions, type TreeIdOf } from './topology';
export * from './timeline';
export { queryTimeline, renderTimelineText, type TimelineQuery, type TimelineSource } from './timeline-view';
export { findEntities, type EntityMatch, type FindPage, type FindPosition } from './find';
