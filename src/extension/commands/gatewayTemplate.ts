/**
 * "Create cluster-gateway.json": a workspace without a gateway config gets one, written from the
 * commented template shipped beside the bundles (schemas/cluster-gateway.template.jsonc, generated
 * from the gateway's config schema by src/gateway/template.ts; the extension imports no gateway
 * code). The gateway reads its comments (JSONC), and the extension maps the file names to the
 * `jsonc` language so the editor does not flag them. A file that exists is opened, never overwritten.
 */
import { Uri, window, workspace } from 'vscode';
import { errorText } from '../../protocol/format';
import type { Ctx } from '../ctx';

/** The template, relative to the extension's folder (.vscodeignore ships it). */
export const GATEWAY_TEMPLATE = 'schemas/cluster-gateway.template.jsonc';

/** The action's label, on the message that says a workspace has no gateway config. */
export function createActionLabel(file: string): string {
  return `Create ${file}`;
}

/** Says there is no gateway config, with the action that creates one. Returns at once (the message stays). */
export function offerGatewayConfig(ctx: Ctx, file: string, message: string): undefined {
  const create = createActionLabel(file);
  void window.showErrorMessage(`Cluster Debugger: ${message}`, create).then(async (answer) => {
    if (answer !== create) return;
    try {
      await createGatewayConfig(ctx, file);
    } catch (err) {
      void window.showErrorMessage(`Cluster Debugger: ${errorText(err)}`);
    }
  });
  return undefined;
}

/**
 * Writes `file` from the template in a workspace folder (the only one, or the one picked) and
 * opens it; a file already there is opened as it is. Returns its URI, or undefined if the user
 * backed out.
 */
export async function createGatewayConfig(ctx: Ctx, file: string): Promise<Uri | undefined> {
  const folders = workspace.workspaceFolders ?? [];
  if (folders.length === 0) throw new Error(`Open a folder first: ${file} is written into a workspace folder.`);
  const folder =
    folders.length === 1
      ? folders[0]
      : await window.showWorkspaceFolderPick({ placeHolder: `Create ${file} in which folder?`, ignoreFocusOut: true });
  if (!folder) return undefined;
  const target = Uri.joinPath(folder.uri, file);
  const exists = await workspace.fs.stat(target).then(
    () => true,
    () => false,
  );
  if (exists) {
    ctx.log.info(`${target.fsPath} exists: opened, not overwritten.`);
  } else {
    const template = await workspace.fs.readFile(Uri.joinPath(ctx.extension.extensionUri, GATEWAY_TEMPLATE));
    await workspace.fs.writeFile(target, template);
    ctx.log.info(`Wrote ${target.fsPath} from ${GATEWAY_TEMPLATE}.`);
  }
  await window.showTextDocument(target);
  if (!exists) {
    void window.showInformationMessage(
      `${file}: uncomment the sections of the systems you run and set their addresses, then run Cluster: Start Gateway….`,
    );
  }
  return target;
}
