/**
 * The analysis layer's public surface. Pure functions only: no I/O, no clock.
 * (Signatures fixed here so the server, CLI and tests can be written against
 * them; implementations live beside this file.)
 */
import type { Finding, RuleId, Severity, Subsystem } from '../protocol';
import type { ClusterModel } from './model';

export * from './model';

export interface CheckOptions {
  /** Per-rule severity override, or 'off'. */
  severities?: Partial<Record<RuleId, Severity | 'off'>>;
}

/** Runs every check (or those of one subsystem) and returns grouped findings, sorted by id. */
export declare function runChecks(model: ClusterModel, options?: CheckOptions & { subsystem?: Subsystem }): Finding[];

export interface RenderedDocument {
  text: string;
  /** 0-based line of an entity (by collection and key) or of the group line that summarises it. */
  lineOf(collection: string, key: string): number | undefined;
}

/** Renders one subsystem of a model in the snapshot language (the virtual document). */
export declare function renderSubsystem(model: ClusterModel, subsystem: Subsystem, clusterName: string): RenderedDocument;

/** Renders the whole model as a `.clustersnap` file (all subsystems, every entity). */
export declare function renderSnapshot(model: ClusterModel): string;

export interface SnapshotSyntaxError {
  line: number;
  column: number;
  message: string;
}
/** Parses a `.clustersnap` file. Never throws: errors are returned, with whatever could be parsed. */
export declare function parseSnapshot(text: string): { model: ClusterModel | null; errors: SnapshotSyntaxError[] };
