/**
 * Analysis of a `.clustersnap` file on disk: parse, check, and map findings
 * to the file's own lines. Used by the language server (offline snapshots)
 * and by `cluster-check FILE`.
 *
 * No `vscode-languageserver` here.
 */
import type { Finding } from '../protocol';
import { parseSnapshotDocument, runChecks, type ClusterModel, type DocumentIndex, type SnapshotSyntaxError, type SummarisedGroup } from '../analysis';
import type { RuleSettings } from './checker';

export interface SnapshotAnalysis {
  model: ClusterModel | null;
  errors: SnapshotSyntaxError[];
  findings: Finding[];
  /** Lines of the file itself. */
  lines: DocumentIndex;
  /** `group NAME count=N` lines (a saved virtual document): entities the file counts but does not hold. */
  summarised: SummarisedGroup[];
}

export function analyseSnapshot(text: string, rules: RuleSettings = {}): SnapshotAnalysis {
  const parsed = parseSnapshotDocument(text);
  const findings = parsed.model ? runChecks(parsed.model, { severities: rules }) : [];
  return { model: parsed.model, errors: parsed.errors, findings, lines: parsed.index, summarised: parsed.summarised };
}
