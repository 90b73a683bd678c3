/**
 * What every subsystem module of the simulator sees: the store, the seeded
 * PRNG, the logical clock, the bug switches and the cluster's config.
 */
import {
  RpcException,
  ErrorCodes,
  type BugMode,
  type ClusterConfig,
  type Fault,
  type RepairCommand,
  type RepairItemResult,
  type ScenarioSize,
  type Subsystem,
} from '../protocol';
import type { Prng } from './prng';
import type { Store } from '../cluster/store';
import type { TraceHash } from './trace';

export interface SimContext {
  readonly store: Store;
  readonly rng: Prng;
  readonly trace: TraceHash;
  readonly config: ClusterConfig;
  /** Logical seconds. */
  readonly time: number;
  bugs: Record<Subsystem, BugMode>;
}

export type Sizes = Required<ScenarioSize>;

/** One module per subsystem; each models its real system's mechanism. */
export interface SubsystemSim {
  readonly subsystem: Subsystem;
  /** The healthy topology (no faults). */
  build(size: Sizes): void;
  /** One logical second of the mechanism. */
  tick(): void;
  /** Arms a fault; returns what happened, in words. Throws `RpcException` (Rejected) if it cannot. */
  inject(fault: Fault, target: string | undefined): string;
  /** Runs a repair of this subsystem. Only called with commands this module owns. */
  repair(cmd: RepairCommand): RepairItemResult[];
  /** The command names this module owns. */
  readonly commands: readonly RepairCommand['command'][];
}

export function rejected(message: string): RpcException {
  return new RpcException(ErrorCodes.Rejected, message);
}

/** For faults that hit the whole subsystem: a target would be silently ignored, so it is refused. */
export function noTarget(fault: string, target: string | undefined): void {
  if (target !== undefined) throw rejected(`${fault} takes no target (got "${target}"): it affects the whole subsystem`);
}

export function buggy(ctx: SimContext, s: Subsystem): boolean {
  return ctx.bugs[s] === 'buggy';
}
