/**
 * One generic provider per subsystem view. It renders the language server's
 * `TreeNode`s as they come: grouping, counts and health are decided by the
 * server, which holds the model; this side only pages, caches and refreshes.
 */
import { CancellationTokenSource, Event, EventEmitter, TreeDataProvider, TreeItem } from 'vscode';
import type { Subsystem } from '../../../protocol/collections';
import type { TreeChildrenParams, TreeNode } from '../../../protocol/lsp';
import { ServerElement, MessageElement } from './elements';
import { errorElement, messageElement, messageTreeItem } from './messageNode';
import { serverTreeItem } from './serverNode';

/** About what VS Code renders comfortably (docs/limits.md: 13,000 siblings crashed a tree). */
export const TREE_PAGE_SIZE = 500;

export type SourceState = { kind: 'ready' } | { kind: 'welcome' } | { kind: 'unavailable'; reason: string };

/** What the provider needs from the rest of the extension; a fake in tests. */
export interface TreeSource {
  /** `welcome` leaves the view empty so that its viewsWelcome content shows. */
  state(): SourceState;
  treeChildren(params: TreeChildrenParams, token?: import('vscode').CancellationToken): Promise<TreeNode[]>;
}

type SubsystemElement = ServerElement | MessageElement;
const ROOT = '\u0000root';

export class ClusterTreeProvider implements TreeDataProvider<SubsystemElement> {
  private readonly changed = new EventEmitter<SubsystemElement | undefined>();
  readonly onDidChangeTreeData: Event<SubsystemElement | undefined> = this.changed.event;
  /** Children fetched so far, per parent node id; a "Load more" appends to its parent's list. */
  private readonly children = new Map<string, SubsystemElement[]>();
  private readonly loading = new Set<string>();
  /** Cancels the fetches of a generation that a refresh made obsolete. */
  private generation = new CancellationTokenSource();

  constructor(
    readonly subsystem: Subsystem,
    private readonly source: TreeSource,
  ) {}

  getTreeItem(el: SubsystemElement): TreeItem {
    return el.type === 'server' ? serverTreeItem(el) : messageTreeItem(el);
  }

  getParent(el: SubsystemElement): SubsystemElement | undefined {
    return el.parent as SubsystemElement | undefined;
  }

  async getChildren(el?: SubsystemElement): Promise<SubsystemElement[]> {
    if (el && (el.type !== 'server' || !el.node.hasChildren)) return [];
    const parent = el as ServerElement | undefined;
    const key = parent?.node.id ?? ROOT;
    const cached = this.children.get(key);
    if (cached) return cached;

    const state = this.source.state();
    if (state.kind === 'welcome') return [];
    if (state.kind === 'unavailable') return [messageElement(parent, 'error', state.reason)];

    const token = this.generation.token;
    let result: SubsystemElement[];
    try {
      const nodes = await this.source.treeChildren(
        { subsystem: this.subsystem, parentId: parent?.node.id ?? null, limit: TREE_PAGE_SIZE },
        token,
      );
      result = nodes.map((node) => this.element(node, parent));
      if (result.length === 0) {
        result = [messageElement(parent, 'info', parent ? 'Nothing here.' : 'No entities in this subsystem.')];
      }
    } catch (err) {
      result = [errorElement(parent, 'Could not load', err)];
    }
    if (token.isCancellationRequested) return result; // a refresh came in between; don't cache stale pages
    this.children.set(key, result);
    return result;
  }

  /** Fetches the page after a "Load more…" node and puts it in the node's place. */
  async loadMore(more: ServerElement): Promise<void> {
    if (more.node.kind !== 'loadMore' || this.loading.has(more.node.id)) return;
    const parent = more.parent;
    const key = parent?.node.id ?? ROOT;
    const token = this.generation.token;
    this.loading.add(more.node.id);
    try {
      let page: SubsystemElement[];
      try {
        const nodes = await this.source.treeChildren(
          { subsystem: this.subsystem, parentId: parent?.node.id ?? null, cursor: more.node.cursor, limit: TREE_PAGE_SIZE },
          token,
        );
        page = nodes.map((node) => this.element(node, parent));
      } catch (err) {
        page = [errorElement(parent, 'Could not load more', err), more];
      }
      const list = this.children.get(key);
      if (token.isCancellationRequested || !list) return;
      const at = list.indexOf(more);
      if (at < 0) return;
      list.splice(at, 1, ...page);
      this.changed.fire(parent);
    } finally {
      this.loading.delete(more.node.id);
    }
  }

  /**
   * The element of the node with this id, fetched level by level down its path (ids are
   * `/`-separated paths: each ancestor's id is a prefix), following "Load more" pages on the way;
   * undefined when it is not there. For `TreeView.reveal`, which needs the element itself.
   */
  async find(id: string): Promise<ServerElement | undefined> {
    let parent: ServerElement | undefined;
    for (let depth = 0; depth < 16; depth++) {
      let next: ServerElement | undefined;
      for (let page = 0; page < 100 && !next; page++) {
        const children = await this.getChildren(parent);
        const servers = children.filter((c): c is ServerElement => c.type === 'server');
        next = servers.find((c) => c.node.kind !== 'loadMore' && (id === c.node.id || id.startsWith(`${c.node.id}/`)));
        const more = servers.find((c) => c.node.kind === 'loadMore');
        if (next || !more) break;
        await this.loadMore(more);
      }
      if (!next || next.node.id === id) return next;
      parent = next;
    }
    return undefined;
  }

  /** Drops every cached page and re-asks the server. Expansion survives: the ids are stable. */
  refresh(): void {
    this.generation.cancel();
    this.generation.dispose();
    this.generation = new CancellationTokenSource();
    this.children.clear();
    this.changed.fire(undefined);
  }

  dispose(): void {
    this.generation.cancel();
    this.generation.dispose();
    this.changed.dispose();
  }

  private element(node: TreeNode, parent: ServerElement | undefined): ServerElement {
    return { type: 'server', node, subsystem: this.subsystem, parent };
  }
}
