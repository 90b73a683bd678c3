/**
 * Repair previews as read-only documents (`cluster-preview:` URIs): the text the language server
 * rendered for `clusterDebugger/preview`, kept for as long as the window lives (a few KB each).
 */
import { EventEmitter, TextDocumentContentProvider, Uri, window, workspace, type Disposable } from 'vscode';

export const PREVIEW_SCHEME = 'cluster-preview';

export class PreviewDocumentProvider implements TextDocumentContentProvider, Disposable {
  private readonly texts = new Map<string, string>();
  private readonly changed = new EventEmitter<Uri>();
  readonly onDidChange = this.changed.event;

  provideTextDocumentContent(uri: Uri): string {
    return this.texts.get(uri.toString()) ?? 'This preview is gone: preview the repair again.\n';
  }

  /** Opens `text` as `cluster-preview:/<cluster>/<finding>/<repair>.txt`; a newer preview of the same repair replaces it. */
  async show(cluster: string, findingId: string, repairId: string, text: string): Promise<Uri> {
    const uri = Uri.from({ scheme: PREVIEW_SCHEME, path: `/${cluster}/${findingId.replace(/[/:]/g, '_')}/${repairId}.txt` });
    this.texts.set(uri.toString(), text);
    this.changed.fire(uri);
    await window.showTextDocument(await workspace.openTextDocument(uri), { preview: true });
    return uri;
  }

  dispose(): void {
    this.changed.dispose();
    this.texts.clear();
  }
}
