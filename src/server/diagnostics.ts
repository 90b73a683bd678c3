/**
 * Findings → LSP diagnostics on a subsystem's virtual document (or on a
 * snapshot file). One diagnostic per finding: findings are already grouped,
 * and VS Code shows at most 1,000 per document (docs/limits.md), so past
 * `MAX_DIAGNOSTICS` the rest collapse into one summary diagnostic.
 */
import { DiagnosticSeverity, type Diagnostic, type DiagnosticRelatedInformation } from 'vscode-languageserver/node';
import { factProvenance, provisionalNote, type Finding, type Severity, type SyncProgress } from '../protocol';
import { formatCount, locateFact, locateFinding, type DocumentsOf } from '../analysis';

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

/**
 * The findings of one document as diagnostics; `documents` says where each finding and fact is (its
 * own and other documents). `sync`: the full sync in progress, which a provisional finding's message
 * says how far it is (`provisionalNote`).
 */
export function findingDiagnostics(findings: readonly Finding[], documents: DocumentsOf, cluster: string, stale: boolean, sync?: SyncProgress | null): Diagnostic[] {
  const shown = findings.length > MAX_DIAGNOSTICS ? findings.slice(0, MAX_DIAGNOSTICS - 1) : findings;
  const diagnostics = shown.map((f) => findingDiagnostic(f, documents, cluster, stale, sync));
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

/** The line a finding's diagnostic sits on in its document (its anchor's line, else the top). */
export function findingLine(f: Finding, documents: DocumentsOf): number {
  return locateFinding(f, documents)?.line ?? 0;
}

function findingDiagnostic(f: Finding, documents: DocumentsOf, cluster: string, stale: boolean, sync: SyncProgress | null | undefined): Diagnostic {
  const line = findingLine(f, documents);
  // Each fact, linked to its entity's line: in this document's other sections, or in another subsystem's document.
  const related: DiagnosticRelatedInformation[] = [];
  for (const fact of f.facts) {
    const at = locateFact(fact, documents);
    if (at) related.push({ location: { uri: at.uri, range: lineRange(at.line) }, message: fact.says });
  }
  const count = formatCount(f.count);
  let message = f.message.includes(count) ? f.message : `${f.message} (${count} affected)`;
  if (f.provisional) message += ` (${provisionalNote(sync)})`;
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

/** Markdown's special characters in text from the cluster (keys such as `_ingest-source`, `open_shards`). */
function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_[\]<>|~#]/g, (c) => `\\${c}`);
}

/** A hover over a diagnostic's line: why, as a short "because" list of each finding's facts, with whose view and when. */
export function findingsHover(findings: readonly Finding[]): string {
  return findings
    .map((f) => {
      const because = f.facts.map((x) => `- ${escapeMarkdown(x.says)}  \n  _${escapeMarkdown(factProvenance(x))}_`);
      return [`**${f.rule}**, because:`, '', ...because].join('\n');
    })
    .join('\n\n---\n\n');
}
