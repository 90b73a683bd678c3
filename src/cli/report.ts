/** The three output formats of `cluster-check`: a text table, JSON, and SARIF 2.1.0. */
import {
  RULES,
  SUBSYSTEMS,
  evidenceOf,
  plural,
  ruleNotes,
  type Finding,
  type RepairPreview,
  type RuleId,
  type Severity,
  type Subsystem,
  type SubsystemHealth,
} from '../protocol';
import { redactUrls } from '../protocol/redact';
import { runbookUrl } from '../protocol/runbooks';
import { processRunbooksBase } from '../engine/runbooks';
import { formatCount, locateFact, locateFinding, type DocumentsOf, type SnapshotSyntaxError } from '../analysis';

export interface CheckReport {
  /** What was checked: the ws URL or the file path. */
  target: string;
  findings: Finding[];
  syntaxErrors: SnapshotSyntaxError[];
  /** Where findings and facts are: in the snapshot file, or in the cluster's virtual documents. */
  documents: DocumentsOf;
  /** The URI of a snapshot file, for syntax errors. */
  fileUri?: string;
  /** A live cluster's health per subsystem (a gateway's: not configured, unavailable), when it says. */
  subsystems?: Partial<Record<Subsystem, SubsystemHealth>>;
  /** The live cluster refuses every repair. */
  readOnly?: boolean;
  /** `--repair … --dry-run`: what each planned repair would do (and, last, the whole plan, for more than one). */
  previews?: { findingId?: string; repairId?: string; preview: RepairPreview }[];
}

/** A finding's own fields, as `cluster-check diff` and `--watch` print them (in this order). */
export function findingFields(f: Finding): Pick<Finding, 'id' | 'rule' | 'severity' | 'subsystem' | 'group' | 'count' | 'message'> {
  return { id: f.id, rule: f.rule, severity: f.severity, subsystem: f.subsystem, group: f.group, count: f.count, message: f.message };
}

/** One line per subsystem the cluster could not check: what it did not look at is not "consistent". */
function notChecked(r: CheckReport): string[] {
  const out: string[] = [];
  for (const s of SUBSYSTEMS) {
    const h = r.subsystems?.[s];
    if (h && h.state !== 'ok')
      out.push(`${s}: ${h.state === 'not-configured' ? 'not configured' : 'unavailable'}${h.reason ? ` (${redactUrls(h.reason)})` : ''}`);
    // Read, but a rule of it is not checked (a collection unknown, a version without its bug).
    else if (h) for (const note of ruleNotes(s, { subsystems: r.subsystems })) out.push(`${s}: ${redactUrls(note)}`);
  }
  return out;
}

/** The upstream versions the cluster's stores say they run, one line each: `ddl: GreptimeDB 0.14.0 (from …)`. */
function versions(r: CheckReport): string[] {
  const out: string[] = [];
  for (const s of SUBSYSTEMS) {
    const v = r.subsystems?.[s]?.version;
    if (v) out.push(`${s}: ${v.system} ${v.version} (from ${v.from})`);
  }
  return out;
}

/** The connection warnings a live cluster gives (an unchecked certificate, plaintext). */
function warnings(r: CheckReport): string[] {
  return SUBSYSTEMS.flatMap((s) => (r.subsystems?.[s]?.warnings ?? []).map((w) => `${s}: ${redactUrls(w)}`));
}

export const SYNTAX_RULE = 'clustersnap/syntax';
const TOOL_VERSION = '0.1.0';

export function renderText(r: CheckReport): string {
  const out: string[] = [];
  for (const e of r.syntaxErrors) out.push(`${r.target}:${e.line + 1}:${e.column + 1}: syntax error: ${e.message}`);
  const syntax = r.syntaxErrors.length ? plural(r.syntaxErrors.length, 'syntax error') : '';
  for (const line of versions(r)) out.push(`version: ${line}`);
  for (const line of notChecked(r)) out.push(`not checked: ${line}`);
  for (const line of warnings(r)) out.push(`warning: ${line}`);
  if (r.readOnly) out.push('read-only: the cluster refuses every repair');
  if (!r.findings.length) {
    const partial = notChecked(r).length ? ` in what was checked (${plural(notChecked(r).length, 'line')} above say what was not)` : '';
    out.push(
      syntax
        ? `${syntax}; no findings in the lines that parsed.`
        : partial
          ? `No findings${partial}.`
          : `No findings: ${r.target} is consistent.`,
    );
    return out.join('\n') + '\n';
  }
  const rows = r.findings.map((f) => [f.severity, f.rule, formatCount(f.count), f.group]);
  const head = ['SEVERITY', 'RULE', 'COUNT', 'GROUP'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const pad = (cells: string[]) =>
    cells
      .map((c, i) => (i === 2 ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  out.push(pad(head));
  r.findings.forEach((f, i) => {
    out.push(pad(rows[i]));
    out.push(`    ${f.message}`);
    const at = locateFinding(f, r.documents);
    if (at) out.push(`    at ${at.uri}:${at.line + 1}`);
    for (const fact of f.facts) out.push(`    because: ${fact.says}`);
    for (const rep of f.repairs) out.push(`    repair: ${rep.title} [${rep.safety}]`);
  });
  const errors = r.findings.filter((f) => f.severity === 'error').length;
  out.push(
    '',
    `${plural(r.findings.length, 'finding')}: ${plural(errors, 'error')}, ${formatCount(r.findings.length - errors)} other.${syntax ? ` And ${syntax}.` : ''}`,
  );
  return out.join('\n') + '\n';
}

export function renderJson(r: CheckReport): string {
  const counts: Partial<Record<RuleId, number>> = {};
  for (const f of r.findings) counts[f.rule] = (counts[f.rule] ?? 0) + f.count;
  const findings = r.findings.map((f) => ({
    rule: f.rule,
    id: f.id,
    count: f.count,
    severity: f.severity,
    subsystem: f.subsystem,
    group: f.group,
    message: f.message,
    location: locateFinding(f, r.documents),
    anchor: f.anchor,
    facts: f.facts.map((fact) => ({ ...fact, location: locateFact(fact, r.documents) })),
    evidence: evidenceOf(f),
    repairs: f.repairs.map((rep) => ({ id: rep.id, title: rep.title, safety: rep.safety, targetCount: rep.targetCount })),
  }));
  const live = r.subsystems ? { subsystems: r.subsystems, readOnly: r.readOnly === true } : {};
  const previews = r.previews ? { previews: r.previews } : {};
  return JSON.stringify({ target: r.target, findings, counts, syntaxErrors: r.syntaxErrors, ...live, ...previews }, null, 2) + '\n';
}

const LEVEL: Record<Severity, 'error' | 'warning' | 'note'> = { error: 'error', warning: 'warning', info: 'note' };

/**
 * `runbooks`: the runbooks' base (src/protocol/runbooks.ts: `CLUSTER_DEBUGGER_RUNBOOKS_URL`, else the
 * copy beside the bundle), each rule's `helpUri`; null: none.
 */
export function renderSarif(r: CheckReport, runbooks: string | null = processRunbooksBase() ?? null): string {
  const ruleIds = Object.keys(RULES) as RuleId[];
  const rules = [
    ...ruleIds.map((id) => ({
      id,
      shortDescription: { text: RULES[id].summary },
      ...(runbooks ? { helpUri: runbookUrl(id, runbooks) } : {}),
      defaultConfiguration: { level: LEVEL[RULES[id].severity] },
      properties: { subsystem: RULES[id].subsystem ?? 'any' },
    })),
    {
      id: SYNTAX_RULE,
      shortDescription: { text: 'A line of the snapshot file could not be parsed.' },
      defaultConfiguration: { level: 'error' },
    },
  ];
  const location = (uri: string, line: number, column?: number) => ({
    physicalLocation: {
      artifactLocation: { uri },
      region: column === undefined ? { startLine: line + 1 } : { startLine: line + 1, startColumn: column + 1 },
    },
  });
  const results = [
    ...r.findings.map((f) => {
      const at = locateFinding(f, r.documents);
      // Each fact where its entity is, with its sentence; the facts themselves, structured, in `properties`.
      const relatedLocations = f.facts.flatMap((fact, id) => {
        const where = locateFact(fact, r.documents);
        return where ? [{ id, ...location(where.uri, where.line), message: { text: fact.says } }] : [];
      });
      return {
        ruleId: f.rule,
        ruleIndex: ruleIds.indexOf(f.rule),
        level: LEVEL[f.severity],
        message: { text: f.message },
        locations: at ? [location(at.uri, at.line)] : [],
        ...(relatedLocations.length ? { relatedLocations } : {}),
        partialFingerprints: { findingId: f.id },
        properties: { count: f.count, group: f.group, repairs: f.repairs.map((rep) => `${rep.title} [${rep.safety}]`), facts: f.facts },
      };
    }),
    ...r.syntaxErrors.map((e) => ({
      ruleId: SYNTAX_RULE,
      ruleIndex: ruleIds.length,
      level: 'error' as const,
      message: { text: e.message },
      locations: r.fileUri ? [location(r.fileUri, e.line, e.column)] : [],
    })),
  ];
  const sarif = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'cluster-check', version: TOOL_VERSION, rules } },
        results,
      },
    ],
  };
  return JSON.stringify(sarif, null, 2) + '\n';
}
