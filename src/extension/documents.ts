/**
 * Read-only virtual documents `cluster://NAME/NAME.SUBSYSTEM.clustersnap`, rendered by
 * the language server. The diagnostics live on them, so a click in the Problems
 * panel lands on the entity's line.
 */
import { CancellationToken, Event, EventEmitter, TextDocumentContentProvider, Uri, workspace } from 'vscode';
import type { Subsystem } from '../protocol/collections';
import { sameCluster } from '../protocol/config';
import { errorText } from '../protocol/format';
import { CLUSTER_SCHEME, clusterDocPath, subsystemOfDocPath } from '../protocol/uri';

export { CLUSTER_SCHEME };

export function documentUri(cluster: string, subsystem: Subsystem): Uri {
  return Uri.from({ scheme: CLUSTER_SCHEME, authority: cluster, path: clusterDocPath(cluster, subsystem) });
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
      return `# Could not render ${uri.toString()}:\n# ${errorText(err).replace(/\n/g, '\n# ')}\n`;
    }
  }

  /** Re-renders the open documents of `cluster` whose subsystem changed (all of them when `subsystems` is empty). */
  changedCluster(cluster: string, subsystems: ReadonlySet<string>): void {
    for (const doc of workspace.textDocuments) {
      const uri = doc.uri;
      // VS Code lower-cases the authority: compare names by the one case rule.
      if (uri.scheme !== CLUSTER_SCHEME || !sameCluster(uri.authority, cluster)) continue;
      const subsystem = subsystemOfDocPath(uri.path);
      if (subsystems.size === 0 || subsystem === null || subsystems.has(subsystem)) this.changed.fire(uri);
    }
  }

  dispose(): void {
    this.changed.dispose();
  }
}
