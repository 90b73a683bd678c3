/**
 * What the tree views hold: a discriminated union, one small module per kind
 * (`serverNode.ts`, `messageNode.ts`, `clusterNode.ts`) that turns it into a
 * `TreeItem`. Each element keeps its parent, which is the parent map that
 * `getParent` (and so `TreeView.reveal`) needs.
 */
import type { Subsystem } from '../../../protocol/collections';
import type { ClusterInfo, TreeNode } from '../../../protocol/lsp';
import type { StuckItem } from '../../../protocol/stuck';
import type { ClusterClock } from '../../../protocol/format';

/** A node the language server rendered (`clusterDebugger/treeChildren`). */
export interface ServerElement {
  readonly type: 'server';
  readonly node: TreeNode;
  readonly subsystem: Subsystem;
  readonly parent: ServerElement | undefined;
}

/** Made by the extension itself: an empty or error state that says why. */
export interface MessageElement {
  readonly type: 'message';
  readonly id: string;
  readonly label: string;
  readonly detail?: string;
  readonly severity: 'info' | 'error';
  readonly parent: ServerElement | ClusterElement | undefined;
}

/** A connected (or configured) cluster in the Clusters view. */
export interface ClusterElement {
  readonly type: 'cluster';
  readonly info: ClusterInfo;
  readonly simulator: boolean;
  /** A gateway this window started (`Cluster: Start Gateway…`). */
  readonly gateway?: boolean;
}

/** One subsystem of a cluster in the Clusters view: opens its virtual document. */
export interface SubsystemElement {
  readonly type: 'subsystem';
  readonly cluster: ClusterElement;
  readonly subsystem: Subsystem;
}

/** A step of a stuck item's chain in the Stuck Work view: step 0 is the item itself, each child the step it waits on. */
export interface StuckElement {
  readonly type: 'stuck';
  readonly cluster: string;
  readonly item: StuckItem;
  /** The clock of the cluster's times (`formatClusterTime`). */
  readonly clock: ClusterClock;
  /** Index into `item.chain`. */
  readonly step: number;
  /** More than one cluster is connected: the item's label names its cluster. */
  readonly showCluster: boolean;
  readonly parent: StuckElement | undefined;
}

export type Element = ServerElement | MessageElement | ClusterElement | SubsystemElement | StuckElement;

/** Namespaced `contextValue`s; `package.json` menus match them with regexes. */
export const ContextValues = {
  prefix: 'clusterDebugger',
  /** Space-separated flags after the kind, e.g. `clusterDebugger.entity repairable located`. */
  of(kind: string, flags: Record<string, boolean | undefined>): string {
    const on = Object.entries(flags)
      .filter(([, v]) => v)
      .map(([k]) => k);
    return [`clusterDebugger.${kind}`, ...on].join(' ');
  },
};
