/**
 * Findings → LSP diagnostics on a subsystem's virtual document (or on a
 * snapshot file). One diagnostic per finding: findings are already grouped,
 * and VS Code shows at most 1,000 per document (docs/limits.md), so past
 * `MAX_DIAGNOSTICS` the rest collapse into one summary diagnostic.
 */
import { DiagnosticSeverity, type Diagnostic, type DiagnosticRelatedInformation } from 'vscode-languageserver/node';
import type { Finding, Severity } from '../protocol';
import { formatCount, type DocumentIndex } from '../analysis';

export const DIAGNOSTIC_SOURCE = 'cluster-debugger';
export const SYNTAX_SOURCE = 'clustersnap';
export const STALE_PREFIX = '[stale] ';
export const MAX_DIAGNOSTICS = 500;

/** What `data` of our diagnostics holds; code actions read it back. */
export interface DiagnosticData {
  /** Empty for an offline snapshot file. */
  cluster: string;
  findingId: string;
}


const SEVERITY: Record<Severity, DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  info: DiagnosticSeverity.Information,
};

export function findingDiagnostics(
  findings: readonly Finding[],
  uri: string,
  lines: DocumentIndex,
  cluster: string,
  stale: boolean,
): Diagnostic[] {
  const shown = findings.length > MAX_DIAGNOSTICS ? findings.slice(0, MAX_DIAGNOSTICS - 1) : findings;
  const diagnostics = shown.map((f) => findingDiagnostic(f, uri, lines, cluster, stale));
  if (shown.length < findings.length) {
    diagnostics.push({
      range: lineRange(0),
      severity: DiagnosticSeverity.Warning,
      source: DIAGNOSTIC_SOURCE,
      message: `${stale ? STALE_PREFIX : ''}${formatCount(findings.length - shown.length)} more findings are not shown here; see the tree view or \`cluster-check\`.`,
    });
  }
  return diagnostics;
}

function findingDiagnostic(f: Finding, uri: string, lines: DocumentIndex, cluster: string, stale: boolean): Diagnostic {
  const line = lines.lineOf(f.anchor.collection, f.anchor.key) ?? lines.sectionLine(f.anchor.collection) ?? 0;
  const related: DiagnosticRelatedInformation[] = [];
  for (const view of f.views) {
    if (view.collection === f.anchor.collection) continue;
    const at = lines.sectionLine(view.collection) ?? lines.lineOf(view.collection, f.anchor.key);
    if (at === undefined) continue;
    related.push({ location: { uri, range: lineRange(at) }, message: `${view.component}: ${view.says}` });
  }
  const count = formatCount(f.count);
  const message = f.message.includes(count) ? f.message : `${f.message} (${count} affected)`;
  const data: DiagnosticData = { cluster, findingId: f.id };
  return {
    range: lineRange(line),
    severity: SEVERITY[f.severity],
    code: f.rule,
    source: DIAGNOSTIC_SOURCE,
    message: `${stale ? STALE_PREFIX : ''}${message}`,
    relatedInformation: related.length ? related : undefined,
    data,
  };
}

/** The whole line: from its start to the start of the next one (clients clamp it). */
export function lineRange(line: number) {
  return { start: { line, character: 0 }, end: { line: line + 1, character: 0 } };
}
