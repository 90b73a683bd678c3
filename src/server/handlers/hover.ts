/**
 * The hover (`textDocument/hover`) over a diagnostic's line: the facts its findings rest on, as a
 * "because" list. Its text is built in one place, `findingsHover` (`diagnostics.ts`); when the
 * document's quick fixes are disabled (read-only, not live, a snapshot file), a last line says why.
 */
import { MarkupKind, type Hover, type HoverParams } from 'vscode-languageserver/node';
import { escapeMarkdown, findingLine, findingsHover, lineRange } from '../diagnostics';
import type { ServerState } from '../state';

/** Over a diagnostic's line: the facts its findings rest on, as a "because" list. */
export function hover(state: ServerState, params: HoverParams): Hover | null {
  try {
    const { findings, documents, clock } = state.documentFindings(params.textDocument.uri);
    if (!documents || !findings.length) return null;
    const here = findings.filter((f) => findingLine(f, documents) === params.position.line);
    if (!here.length) return null;
    // Why its quick fixes are disabled (read-only, not live, a snapshot file): said here too, since a
    // client may hide disabled actions, and the Problems panel's lightbulb then shows nothing.
    const disabled = state.repairSource(params.textDocument.uri)?.disabled();
    const why = disabled ? `\n\n**Quick fixes disabled:** ${escapeMarkdown(disabled)}.` : '';
    return {
      // The clock the facts' times are on (the simulator's logical one unless the status says otherwise).
      contents: { kind: MarkupKind.Markdown, value: findingsHover(here, documents, clock ?? { scenario: '' }, state.runbooksBase) + why },
      range: lineRange(params.position.line),
    };
  } catch (e) {
    state.logError('hover', e);
    return null;
  }
}
