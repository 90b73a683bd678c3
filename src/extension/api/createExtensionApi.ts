/** Builds the API the extension exports (`extensionApi.ts`) over the extension's context. */
import { BUNDLED_CLUSTER } from '../../protocol/config';
import type { Ctx } from '../ctx';
import { API_VERSION, type ClusterDebuggerApi, type ViewId, type ViewItem } from './extensionApi';
import type { Element } from '../views/trees/elements';

function clusterOf(el: Element): string | undefined {
  switch (el.type) {
    case 'server':
      return el.node.cluster;
    case 'cluster':
      return el.info.name;
    case 'subsystem':
      return el.cluster.info.name;
    case 'message':
      return el.parent ? clusterOf(el.parent) : undefined;
    case 'stuck':
      return el.cluster;
  }
}

export function createExtensionApi(ctx: Ctx): ClusterDebuggerApi {
  /** The element behind each item handed out, so that it can be passed back as a parent. */
  const elements = new WeakMap<ViewItem, Element>();

  const provider = (view: ViewId) => (view === 'clusters' ? ctx.clustersTree : view === 'stuck' ? ctx.stuckTree : ctx.trees[view]);

  function item(view: ViewId, el: Element, parent: ViewItem | undefined): ViewItem {
    const p = provider(view) as { getTreeItem(e: Element): import('vscode').TreeItem };
    const out: ViewItem = Object.freeze({
      view,
      kind: el.type === 'server' ? el.node.kind : el.type,
      treeItem: p.getTreeItem(el),
      cluster: clusterOf(el),
      node: el.type === 'server' ? el.node : undefined,
      stuck: el.type === 'stuck' ? { item: el.item, step: el.step } : undefined,
      severity: el.type === 'message' ? el.severity : undefined,
      parent,
    });
    elements.set(out, el);
    return out;
  }

  return {
    version: API_VERSION,
    clusters: () => structuredClone([...ctx.clusters]),
    onDidChangeClusters: ctx.onDidChangeClusters,
    findings: (filter = {}) => ctx.requireApi().findings(filter),
    simulator: () => {
      const sim = ctx.simulator;
      return sim?.running ? { cluster: BUNDLED_CLUSTER, url: sim.url, pid: sim.pid, scenario: sim.scenario } : undefined;
    },
    view: (view) => {
      const v = ctx.view(view);
      const badge = v?.badge;
      return { badge: badge ? { value: badge.value, tooltip: badge.tooltip ?? '' } : undefined, message: v?.message };
    },
    viewItems: async (view, parent) => {
      const parentEl = parent ? elements.get(parent) : undefined;
      if (parent && (!parentEl || parent.view !== view)) throw new Error('viewItems: the parent is not an item of this view');
      const children = (await provider(view).getChildren(parentEl as never)) as Element[];
      return children.map((el) => item(view, el, parent));
    },
    repair: (args, token, onProgress) => ctx.requireApi().applyRepair(args, token, onProgress),
    repairAllSafe: (cluster, token, onProgress) => ctx.requireApi().applyAllSafe(cluster, token, onProgress),
  };
}
