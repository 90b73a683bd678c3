/**
 * Read-only virtual documents `cluster://NAME/SUBSYSTEM.clustersnap`, rendered by
 * the language server. The diagnostics live on them, so a click in the Problems
 * panel lands on the entity's line.
 */
import { CancellationToken, Event, EventEmitter, TextDocumentContentProvider, Uri, workspace } from 'vscode';
import type { Subsystem } from '../protocol/collections';

export const CLUSTER_SCHEME = 'cluster';

export function documentUri(cluster: string, subsystem: Subsystem): Uri {
  return Uri.from({ scheme: CLUSTER_SCHEME, authority: cluster, path: `/${subsystem}.clustersnap` });
}

export interface DocumentSource {
  document(uri: string, token?: CancellationToken): Promise<string>;
}

export class ClusterDocumentProvider implements TextDocumentContentProvider {
  private readonly changed = new EventEmitter<Uri>();
  readonly onDidChange: Event<Uri> = this.changed.event;

  constructor(private readonly source: () => DocumentSource | string) {}

  async provideTextDocumentContent(uri: Uri, token: CancellationToken): Promise<string> {
    const source = this.source();
    // The document stays readable when the server is down: it says why instead of an editor error.
    if (typeof source === 'string') return `# ${source}\n`;
    try {
      return await source.document(uri.toString(), token);
    } catch (err) {
      return `# Could not render ${uri.toString()}:\n# ${(err instanceof Error ? err.message : String(err)).replace(/\n/g, '\n# ')}\n`;
    }
  }

  /** Re-renders the open documents of `cluster` whose subsystem changed (all of them when `subsystems` is empty). */
  changedCluster(cluster: string, subsystems: ReadonlySet<string>): void {
    for (const doc of workspace.textDocuments) {
      const uri = doc.uri;
      if (uri.scheme !== CLUSTER_SCHEME || uri.authority !== cluster) continue;
      const subsystem = uri.path.replace(/^\//, '').replace(/\.clustersnap$/, '');
      if (subsystems.size === 0 || subsystems.has(subsystem) || !/^[a-z]+$/.test(subsystem)) this.changed.fire(uri);
    }
  }

  dispose(): void {
    this.changed.dispose();
  }
}
