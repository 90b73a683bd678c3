/**
 * The picture of a cluster (`Cluster: Show Topology`): its nodes per modelled
 * system, what each holds (counts) and the problems that sit on each. Built by
 * `clusterTopology` (src/analysis/topology.ts) from the synced model and the
 * current findings; answered by `clusterDebugger/topology`; drawn by the
 * extension's webview. Aggregates only: at the incident's 763,471 shards it is
 * a few dozen nodes.
 */
import { z } from 'zod';
import { Subsystem } from './collections';
import { RuleId, Severity } from './findings';
import { SYSTEM_IDS, SYSTEM_TITLES } from './systems';

/** The systems the topology draws: every one in the systems' table (systems.ts), in its order. */
export const TOPOLOGY_SYSTEMS = SYSTEM_IDS;
export const TopologySystemId = z.enum(TOPOLOGY_SYSTEMS);
export type TopologySystemId = z.infer<typeof TopologySystemId>;

export { SYSTEM_OF_SUBSYSTEM } from './systems';

export const TOPOLOGY_SYSTEM_TITLES: Record<TopologySystemId, string> = SYSTEM_TITLES;

export const NodeRole = z.enum(['metastore', 'control-plane', 'ingester', 'streaming-node', 'metasrv', 'store', 'sc', 'spu']);
export type NodeRole = z.infer<typeof NodeRole>;

/** One thing a node holds, counted: `{ what: 'shards', count: 763471 }`. */
export const NodeHolding = z.object({ what: z.string(), count: z.number().int().nonnegative() });
export type NodeHolding = z.infer<typeof NodeHolding>;

/** A finding as it sits on one node: how many of its entities are there. */
export const NodeProblem = z.object({
  findingId: z.string(),
  rule: RuleId,
  severity: Severity,
  /** The finding's entities on this node. */
  count: z.number().int().nonnegative(),
  /** `count` is a lower bound: only the finding's samples said where its entities are. */
  partial: z.boolean().optional(),
  message: z.string(),
});
export type NodeProblem = z.infer<typeof NodeProblem>;

export const TopologyHealth = z.enum(['ok', 'warning', 'error']);
export type TopologyHealth = z.infer<typeof TopologyHealth>;

export const TopologyNode = z.object({
  /** Unique within its cluster, e.g. `quickwit/ingester/ingester-0`. */
  id: z.string(),
  system: TopologySystemId,
  role: NodeRole,
  label: z.string(),
  /** The node's own state in words (`ready`, `Terminating`, `epoch 7`), if it has one. */
  state: z.string().optional(),
  /** What it holds; the first is the one drawn to scale. */
  holds: z.array(NodeHolding),
  problems: z.array(NodeProblem),
  health: TopologyHealth,
  /** The tree node that shows it: `clusterDebugger/treeChildren` ids of that subsystem's view. */
  reveal: z.object({ subsystem: Subsystem, treeId: z.string() }),
});
export type TopologyNode = z.infer<typeof TopologyNode>;

export const TopologySystem = z.object({
  id: TopologySystemId,
  title: z.string(),
  subsystem: Subsystem,
  /** Whether the cluster reads this system at all (`ClusterStatus.subsystems`). */
  availability: z.enum(['ok', 'not-configured', 'unavailable']),
  reason: z.string().optional(),
  nodes: z.array(TopologyNode),
  /** Problems of this system that no one node holds (e.g. records a gateway could not decode). */
  unplaced: z.array(NodeProblem),
});
export type TopologySystem = z.infer<typeof TopologySystem>;

export const ClusterTopology = z.object({
  cluster: z.string(),
  /** Set while there is nothing to draw yet (syncing, failed): why, in words. */
  message: z.string().optional(),
  systems: z.array(TopologySystem),
  /** The largest first holding of any node: what the drawing scales against. */
  maxCount: z.number().int().nonnegative(),
});
export type ClusterTopology = z.infer<typeof ClusterTopology>;

/** Params of `clusterDebugger/topology`: one cluster, or every connected one. */
export const TopologyParams = z.object({ cluster: z.string().optional() });
export const TopologyResult = z.object({ clusters: z.array(ClusterTopology) });
export type TopologyResult = z.infer<typeof TopologyResult>;

/** What the topology webview posts to the extension (checked there: it crosses a process boundary). */
export const TopologyWebviewMessage = z.discriminatedUnion('type', [
  /** The page is loaded (again, after being hidden): send the current picture. */
  z.object({ type: z.literal('ready') }),
  /** Reveal a node in its tree view. */
  z.object({ type: z.literal('reveal'), cluster: z.string().max(64), nodeId: z.string().max(1024) }),
]);
export type TopologyWebviewMessage = z.infer<typeof TopologyWebviewMessage>;

/** What the extension posts to the webview. */
export type TopologyHostMessage =
  | { type: 'topology'; result: TopologyResult }
  | { type: 'error'; message: string }
  | { type: 'revealed'; nodeId: string; ok: boolean; message?: string };
