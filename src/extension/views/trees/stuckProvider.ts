/**
 * The Stuck Work view: what waits on what, since when, oldest first, from the language server
 * (`clusterDebugger/stuckWork`). Each item expands into the chain of what it waits on; the step a
 * repair can unblock carries it (`clusterDebugger.repairStuck`). Refreshed whenever a cluster
 * changes: the whole list is one small request (items are groups, never one per entity).
 */
import { CancellationToken, CancellationTokenSource, Event, EventEmitter, TreeDataProvider, TreeItem } from 'vscode';
import { plural } from '../../../protocol/format';
import type { ClusterStuckWork } from '../../../protocol/lsp';
import type { MessageElement, StuckElement } from './elements';
import { errorElement, messageTreeItem } from './messageNode';
import type { SourceState } from './provider';
import { stuckTreeItem } from './stuckNode';

export interface StuckSource {
  /** `welcome` leaves the view empty so that its viewsWelcome content shows. */
  state(): SourceState;
  stuckWork(token?: CancellationToken): Promise<ClusterStuckWork[]>;
}

type StuckViewElement = StuckElement | MessageElement;

function message(id: string, label: string, severity: MessageElement['severity'] = 'info'): MessageElement {
  return { type: 'message', id: `m:stuck:${id}`, label, severity, parent: undefined };
}

export class StuckTreeProvider implements TreeDataProvider<StuckViewElement> {
  private readonly changed = new EventEmitter<StuckViewElement | undefined>();
  readonly onDidChangeTreeData: Event<StuckViewElement | undefined> = this.changed.event;
  private roots: Promise<StuckViewElement[]> | undefined;
  /** Cancels the request of a list that a refresh made obsolete. */
  private generation = new CancellationTokenSource();

  constructor(private readonly source: StuckSource) {}

  getTreeItem(el: StuckViewElement): TreeItem {
    return el.type === 'stuck' ? stuckTreeItem(el) : messageTreeItem(el);
  }

  getParent(el: StuckViewElement): StuckViewElement | undefined {
    return el.parent as StuckViewElement | undefined;
  }

  async getChildren(el?: StuckViewElement): Promise<StuckViewElement[]> {
    if (el) {
      if (el.type !== 'stuck' || el.step + 1 >= el.item.chain.length) return [];
      return [{ ...el, step: el.step + 1, parent: el }];
    }
    this.roots ??= this.load(this.generation.token);
    return this.roots;
  }

  refresh(): void {
    this.generation.cancel();
    this.generation.dispose();
    this.generation = new CancellationTokenSource();
    this.roots = undefined;
    this.changed.fire(undefined);
  }

  dispose(): void {
    this.generation.cancel();
    this.generation.dispose();
    this.changed.dispose();
  }

  private async load(token: CancellationToken): Promise<StuckViewElement[]> {
    const state = this.source.state();
    if (state.kind === 'welcome') return [];
    if (state.kind === 'unavailable') return [message('unavailable', state.reason, 'error')];
    let clusters: ClusterStuckWork[];
    try {
      clusters = await this.source.stuckWork(token);
    } catch (err) {
      if (!token.isCancellationRequested) this.roots = undefined; // a later expand or refresh asks again
      return [errorElement(undefined, 'Could not load Stuck Work', err)];
    }
    const showCluster = clusters.length > 1;
    const out: StuckViewElement[] = [];
    for (const c of clusters) {
      if (!c.work) {
        out.push(message(`${c.cluster}:pending`, `${c.cluster} is ${c.state}: its stuck work shows once it has synced.`));
        continue;
      }
      for (const item of c.work.items)
        out.push({
          type: 'stuck',
          cluster: c.cluster,
          item,
          clock: { scenario: c.work.scenario },
          step: 0,
          showCluster,
          parent: undefined,
        });
      if (c.work.omitted)
        out.push(
          message(`${c.cluster}:omitted`, `${c.cluster}: ${plural(c.work.omitted, 'more item')} not shown (the oldest are listed).`),
        );
    }
    if (out.length === 0) out.push(message('none', clusters.length > 1 ? 'Nothing is stuck on any cluster.' : 'Nothing is stuck.'));
    return out;
  }
}
