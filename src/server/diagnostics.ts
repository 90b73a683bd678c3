/**
 * Findings → LSP diagnostics on a subsystem's virtual document (or on a
 * snapshot file). One diagnostic per finding: findings are already grouped,
 * and VS Code shows at most 1,000 per document (docs/limits.md), so past
 * `MAX_DIAGNOSTICS` the rest collapse into one summary diagnostic.
 */
import { DiagnosticSeverity, type Diagnostic, type DiagnosticRelatedInformation } from 'vscode-languageserver/node';
import { factProvenance, provisionalNote, type Fact, type Finding, type Severity, type SyncProgress } from '../protocol';
import { formatCount, locateFact, locateFinding, type DocumentsOf } from '../analysis';
import { formatClusterTime, plural, type ClusterClock } from '../protocol/format';
import { runbookLine, runbookUrl } from '../protocol/runbooks';
import { processRunbooksBase } from '../engine/runbooks';

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
 * says how far it is (`provisionalNote`). `runbooks`: the runbooks' base, which each diagnostic's
 * code links its rule's page under (`codeDescription`); null: no link.
 */
export function findingDiagnostics(
  findings: readonly Finding[],
  documents: DocumentsOf,
  cluster: string,
  stale: boolean,
  sync?: SyncProgress | null,
  runbooks: string | null = processRunbooksBase() ?? null,
): Diagnostic[] {
  const shown = findings.length > MAX_DIAGNOSTICS ? findings.slice(0, MAX_DIAGNOSTICS - 1) : findings;
  const diagnostics = shown.map((f) => findingDiagnostic(f, documents, cluster, stale, sync, runbooks));
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

function findingDiagnostic(
  f: Finding,
  documents: DocumentsOf,
  cluster: string,
  stale: boolean,
  sync: SyncProgress | null | undefined,
  runbooks: string | null,
): Diagnostic {
  const line = findingLine(f, documents);
  // Each fact, linked to its entity's line: in this document's other sections, or in another subsystem's document.
  const related: DiagnosticRelatedInformation[] = [];
  for (const { fact, at } of factsLocated(f, documents)) {
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
    ...(runbooks ? { codeDescription: { href: runbookUrl(f.rule, runbooks) } } : {}),
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
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_[\]<>|~#]/g, (c) => `\\${c}`);
}

/** Each fact of a finding, with the line it links to (its diagnostic's relatedInformation), if it has one. */
function factsLocated(f: Finding, documents: DocumentsOf): { fact: Fact; at: ReturnType<typeof locateFact> }[] {
  return f.facts.map((fact) => ({ fact, at: locateFact(fact, documents) }));
}

/**
 * A hover over a diagnostic's line: why, saying each fact once. The editor's own hover part of the
 * diagnostic above it already lists the facts that link to a line (its relatedInformation, each a
 * link): this part says whose views they are and when they were read, in one line, and lists in
 * full (with whose view, which version and when) only the facts that link to no line. `runbooks`:
 * the runbooks' base (`processRunbooksBase()`), for a last line that links the rule's page.
 */
export function findingsHover(findings: readonly Finding[], documents: DocumentsOf, clock: ClusterClock, runbooks?: string): string {
  return findings
    .map((f) => {
      const located = factsLocated(f, documents);
      const linked = located.filter((x) => x.at).map((x) => x.fact);
      const unlinked = located.filter((x) => !x.at).map((x) => x.fact);
      const lines: string[] = [];
      if (linked.length) {
        const views = [...new Set(linked.map((x) => x.component))].join(', ');
        const readAt = [...new Set(linked.map((x) => formatClusterTime(x.readAt, clock)))].join(', ');
        lines.push(
          `**${f.rule}**, because of the ${plural(linked.length, 'fact')} above, each linked to its line: the views of ${escapeMarkdown(views)}, read at ${readAt}.`,
        );
      } else lines.push(`**${f.rule}**, because:`);
      if (unlinked.length) {
        if (linked.length) lines.push('', 'And:');
        lines.push('', ...unlinked.map((x) => `- ${escapeMarkdown(x.says)}  \n  _${escapeMarkdown(factProvenance(x, clock))}_`));
      }
      if (runbooks) lines.push('', runbookLine(f.rule, runbooks));
      return lines.join('\n');
    })
    .join('\n\n---\n\n');
}
