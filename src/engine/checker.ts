/**
 * Findings and rendered documents of one cluster, kept per subsystem and
 * recomputed only for the subsystems whose collections changed.
 *
 * A subsystem's rendered document is frozen together with its findings: the
 * diagnostics' lines come from that render, and `document` serves the same
 * text until the next check replaces both. (At 760,000 shards we never
 * re-render on every event: the caller debounces `recheck`.)
 *
 * Before the first model exists, the findings are the provisional ones of the checks on counts
 * (`checkSummary`, from `cluster.summary`); the first `recheck` replaces them, subsystem by subsystem
 * (every subsystem is dirty until then).
 *
 * No `vscode-languageserver` here: the CLI uses this module too.
 */
import {
  SUBSYSTEMS,
  clusterDocUri,
  type ClusterStatus,
  type Finding,
  type RuleId,
  type Severity,
  type Subsystem,
  type SummaryResult,
  type Transition,
} from '../protocol';
import { renderSubsystem, runChecks, runSummaryChecks, type ClusterModel, type DocumentsOf, type RenderedDocument } from '../analysis';

export type RuleSettings = Partial<Record<RuleId, Severity | 'off'>>;

export class ClusterChecker {
  private readonly findingsBy = new Map<Subsystem, Finding[]>();
  private readonly docs = new Map<Subsystem, RenderedDocument>();
  private readonly dirty = new Set<Subsystem>(SUBSYSTEMS);
  private byId = new Map<string, Finding>();
  private involved: Map<string, string[]> | null = null;
  /** Subsystems whose findings are provisional (from counts); emptied by the first check of a model. */
  private readonly provisionalIn = new Set<Subsystem>();
  /** Whether a model was ever checked: from then on, counts are never checked again. */
  private checkedModel = false;
  /** Bumps whenever findings or documents were recomputed. */
  generation = 0;
  /** The cluster incarnation of the model the findings were last computed from. */
  incarnation: string | undefined;

  constructor(
    private readonly clusterName: string,
    private rules: RuleSettings = {},
  ) {}

  markDirty(subsystems: Iterable<Subsystem>): void {
    for (const s of subsystems) this.dirty.add(s);
  }

  get hasDirty(): boolean {
    return this.dirty.size > 0;
  }

  setRules(rules: RuleSettings): void {
    this.rules = rules;
    this.markDirty(SUBSYSTEMS);
  }

  /** Whether a synced model was checked: from then on the findings are the full check's (none of them provisional). */
  get checked(): boolean {
    return this.checkedModel;
  }

  /** How many of the findings are provisional (from counts, before the first model was checked). */
  get provisionalCount(): number {
    let n = 0;
    for (const s of this.provisionalIn) n += this.findingsBy.get(s)?.length ?? 0;
    return n;
  }

  /**
   * The findings of the checks on counts (`runSummaryChecks`), until the first model is checked;
   * they replace the provisional ones of an earlier call. Does nothing once a model was checked.
   * Returns the subsystems whose findings changed.
   */
  checkSummary(summary: SummaryResult, status: ClusterStatus): Subsystem[] {
    if (this.checkedModel) return [];
    const next = new Map<Subsystem, Finding[]>();
    for (const f of runSummaryChecks(summary, status, { severities: this.rules })) {
      const list = next.get(f.subsystem);
      if (list) list.push(f);
      else next.set(f.subsystem, [f]);
    }
    const changed = this.dropProvisional();
    for (const [subsystem, findings] of next) {
      this.findingsBy.set(subsystem, findings);
      this.provisionalIn.add(subsystem);
      changed.add(subsystem);
    }
    if (changed.size) this.reindex();
    return [...changed];
  }

  /** Forgets the provisional findings (the sync that was to replace them failed). Returns the subsystems that had some. */
  clearProvisional(): Subsystem[] {
    const changed = this.dropProvisional();
    if (changed.size) this.reindex();
    return [...changed];
  }

  private dropProvisional(): Set<Subsystem> {
    const had = new Set(this.provisionalIn);
    // Back to "never checked": the first check of a model then reports the subsystem as changed.
    for (const s of had) this.findingsBy.delete(s);
    this.provisionalIn.clear();
    return had;
  }

  private reindex(): void {
    this.byId = new Map(this.all().map((f) => [f.id, f]));
    this.involved = null;
    this.generation++;
  }

  /**
   * Re-runs the checks (and renders) of the dirty subsystems, with the recorded `timeline` (oldest
   * first) for the timeline rules. Returns those whose findings or text changed.
   */
  recheck(model: ClusterModel, timeline: readonly Transition[] = []): Subsystem[] {
    const changed: Subsystem[] = [];
    this.incarnation = model.status.incarnation;
    this.checkedModel = true;
    for (const subsystem of [...this.dirty]) {
      this.dirty.delete(subsystem);
      this.provisionalIn.delete(subsystem);
      const before = this.findingsBy.get(subsystem);
      const findings = runChecks(model, { subsystem, severities: this.rules, timeline });
      this.findingsBy.set(subsystem, findings);
      // Render only what someone needs: documents already served, or lines for diagnostics.
      if (this.docs.has(subsystem) || findings.length) {
        this.docs.set(subsystem, renderSubsystem(model, subsystem, this.clusterName));
      }
      if (!before || before.length || findings.length || this.docs.has(subsystem)) changed.push(subsystem);
    }
    if (changed.length) this.reindex();
    return changed;
  }

  findings(subsystem?: Subsystem): Finding[] {
    return subsystem ? (this.findingsBy.get(subsystem) ?? []) : this.all();
  }

  finding(id: string): Finding | undefined {
    return this.byId.get(id);
  }

  /** The rendered document of a subsystem; rendered now if it never was (it then stays in step with checks). */
  document(model: ClusterModel, subsystem: Subsystem): RenderedDocument {
    let doc = this.docs.get(subsystem);
    if (!doc) {
      doc = renderSubsystem(model, subsystem, this.clusterName);
      this.docs.set(subsystem, doc);
    }
    return doc;
  }

  /**
   * The cluster's virtual documents (`cluster://NAME/<subsystem>.clustersnap`), for placing findings
   * and their facts. `name`: the NAME in their URIs (the cluster's own, in `cluster-check`'s reports).
   */
  documents(model: ClusterModel, name = this.clusterName): DocumentsOf {
    return (subsystem) => ({ uri: clusterDocUri(name, subsystem), index: this.document(model, subsystem) });
  }

  /** Finding ids per entity key (anchor, samples and repair targets). Built on first use per check generation. */
  findingsOfKey(key: string): string[] | undefined {
    if (!this.involved) {
      const map = new Map<string, string[]>();
      const add = (k: string, id: string) => {
        const list = map.get(k);
        if (!list) map.set(k, [id]);
        else if (list[list.length - 1] !== id) list.push(id);
      };
      for (const f of this.all()) {
        add(f.anchor.key, f.id);
        for (const s of f.samples) add(s.key, f.id);
        for (const r of f.repairs) for (const op of r.operations) if ('targets' in op) for (const t of op.targets) add(t.key, f.id);
      }
      this.involved = map;
    }
    return this.involved.get(key);
  }

  private all(): Finding[] {
    return SUBSYSTEMS.flatMap((s) => this.findingsBy.get(s) ?? []);
  }
}
