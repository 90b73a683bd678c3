/** The Clusters view: one item per cluster the server knows, with its subsystems' documents below. */
import { Event, EventEmitter, TreeDataProvider, TreeItem } from 'vscode';
import { SUBSYSTEMS } from '../../../protocol/collections';
import type { ClusterInfo } from '../../../protocol/lsp';
import { clusterTreeItem, subsystemTreeItem } from './clusterNode';
import { ClusterElement, Element, MessageElement, SubsystemElement } from './elements';
import { messageElement, messageTreeItem } from './messageNode';
import type { SourceState } from './provider';

type ClustersElement = ClusterElement | SubsystemElement | MessageElement;

export interface ClustersSource {
  state(): SourceState;
  clusters(): readonly ClusterInfo[];
  /** The latest info of one cluster (by the case-insensitive name rule), or undefined once it has left. */
  cluster(name: string): ClusterInfo | undefined;
  isSimulator(name: string): boolean;
  /** Whether this window started the gateway this cluster is connected to. */
  isGateway(name: string): boolean;
}

export class ClustersTreeProvider implements TreeDataProvider<ClustersElement> {
  private readonly changed = new EventEmitter<ClustersElement | undefined>();
  readonly onDidChangeTreeData: Event<ClustersElement | undefined> = this.changed.event;

  constructor(private readonly source: ClustersSource) {}

  /**
   * Rendered from the cluster's latest info, not from the copy the element was made with: an item
   * VS Code renders after the list changed (but before its refresh reached the view) shows the
   * same counts as the status bar and the badges, never older ones.
   */
  getTreeItem(el: ClustersElement): TreeItem {
    switch (el.type) {
      case 'cluster':
        return clusterTreeItem(this.latest(el));
      case 'subsystem':
        return subsystemTreeItem({ ...el, cluster: this.latest(el.cluster) });
      case 'message':
        return messageTreeItem(el);
    }
  }

  getParent(el: ClustersElement): ClustersElement | undefined {
    if (el.type === 'subsystem') return el.cluster;
    if (el.type === 'message') return el.parent as ClusterElement | undefined;
    return undefined;
  }

  getChildren(el?: Element): ClustersElement[] {
    if (!el) {
      const state = this.source.state();
      if (state.kind === 'unavailable') return [messageElement(undefined, 'error', state.reason)];
      const clusters = this.source.clusters();
      return clusters.map((info) => ({
        type: 'cluster',
        info,
        simulator: this.source.isSimulator(info.name),
        gateway: this.source.isGateway(info.name),
      }));
    }
    if (el.type !== 'cluster') return [];
    const { info } = this.latest(el);
    const out: ClustersElement[] = [];
    if (info.error && info.state !== 'live') out.push(messageElement(el, 'error', info.error));
    for (const subsystem of SUBSYSTEMS) out.push({ type: 'subsystem', cluster: el, subsystem });
    return out;
  }

  private latest(el: ClusterElement): ClusterElement {
    const info = this.source.cluster(el.info.name) ?? el.info;
    return info === el.info
      ? el
      : { ...el, info, simulator: this.source.isSimulator(info.name), gateway: this.source.isGateway(info.name) };
  }

  refresh(): void {
    this.changed.fire(undefined);
  }

  dispose(): void {
    this.changed.dispose();
  }
}
