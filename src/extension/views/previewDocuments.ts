/**
 * Read-only text documents the language server rendered: repair previews (`cluster-preview:`) and
 * timelines (`cluster-timeline:`). Each text is kept for as long as the window lives, one per path
 * (a newer one of the same path replaces it).
 */
import {
  CodeLens,
  EventEmitter,
  Range,
  TextDocumentContentProvider,
  Uri,
  window,
  workspace,
  type CodeLensProvider,
  type Disposable,
  type TextDocument,
} from 'vscode';
import type { ApplyRepairArgs } from '../../protocol/lsp';
import type { RepairSafety } from '../../protocol/findings';

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

/** The command that applies the repair a preview document shows (its code lens and editor title button). */
export const APPLY_PREVIEWED_COMMAND = 'clusterDebugger.applyPreviewedRepair';

/**
 * Repair previews, one per repair. Each document remembers the repair it previews, and offers to
 * apply it: a code lens on its first line and a button in the editor's title, both
 * `clusterDebugger.applyPreviewedRepair`, which runs the same flow (and confirmation) as `Cluster: Repair…`.
 */
export class PreviewDocumentProvider extends TextDocumentsProvider implements CodeLensProvider {
  private readonly repairs = new Map<string, { args: ApplyRepairArgs; safety?: RepairSafety }>();
  private readonly lensesChanged = new EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.lensesChanged.event;

  constructor() {
    super(PREVIEW_SCHEME, 'This preview is gone: preview the repair again.\n');
  }

  /** Opens `text` as `cluster-preview:/<cluster>/<finding>/<repair>.txt`; a newer preview of the same repair replaces it. */
  show(cluster: string, findingId: string, repairId: string, text: string, safety?: RepairSafety): Promise<Uri> {
    const path = `/${cluster}/${findingId.replace(/[/:]/g, '_')}/${repairId}.txt`;
    this.repairs.set(Uri.from({ scheme: this.scheme, path }).toString(), { args: { cluster, findingId, repairId }, safety });
    this.lensesChanged.fire();
    return this.open(path, text);
  }

  /** The repair a preview document shows, or undefined (not a preview, or one whose text is gone). */
  repairOf(uri: Uri): ApplyRepairArgs | undefined {
    return this.repairs.get(uri.toString())?.args;
  }

  provideCodeLenses(document: TextDocument): CodeLens[] {
    const repair = this.repairs.get(document.uri.toString());
    if (!repair) return [];
    const title =
      repair.safety === 'may-lose-data' ? '$(warning) Apply this repair… (may lose data: asks first)' : '$(wrench) Apply this repair';
    return [
      new CodeLens(new Range(0, 0, 0, 0), {
        title,
        command: APPLY_PREVIEWED_COMMAND,
        arguments: [document.uri],
        tooltip: 'Runs it as Cluster: Repair… does, with the same confirmation',
      }),
    ];
  }

  override dispose(): void {
    super.dispose();
    this.lensesChanged.dispose();
    this.repairs.clear();
  }
}
