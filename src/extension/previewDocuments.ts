/**
 * Read-only text documents the language server rendered: repair previews (`cluster-preview:`) and
 * timelines (`cluster-timeline:`). Each text is kept for as long as the window lives, one per path
 * (a newer one of the same path replaces it).
 */
import { EventEmitter, TextDocumentContentProvider, Uri, window, workspace, type Disposable } from 'vscode';

export const PREVIEW_SCHEME = 'cluster-preview';
export const TIMELINE_SCHEME = 'cluster-timeline';

export class TextDocumentsProvider implements TextDocumentContentProvider, Disposable {
  private readonly texts = new Map<string, string>();
  private readonly changed = new EventEmitter<Uri>();
  readonly onDidChange = this.changed.event;

  constructor(
    readonly scheme: string,
    /** What a document says once its text is gone (a window reloaded with it open). */
    private readonly goneText: string,
  ) {}

  provideTextDocumentContent(uri: Uri): string {
    return this.texts.get(uri.toString()) ?? this.goneText;
  }

  /** Opens `text` as `<scheme>:<path>`, replacing what that path showed. */
  async open(path: string, text: string): Promise<Uri> {
    const uri = Uri.from({ scheme: this.scheme, path });
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

export class PreviewDocumentProvider extends TextDocumentsProvider {
  constructor() {
    super(PREVIEW_SCHEME, 'This preview is gone: preview the repair again.\n');
  }

  /** Opens `text` as `cluster-preview:/<cluster>/<finding>/<repair>.txt`; a newer preview of the same repair replaces it. */
  show(cluster: string, findingId: string, repairId: string, text: string): Promise<Uri> {
    return this.open(`/${cluster}/${findingId.replace(/[/:]/g, '_')}/${repairId}.txt`, text);
  }
}
