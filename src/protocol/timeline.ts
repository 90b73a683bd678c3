/**
 * The timeline: each entity's state changes as the language server saw them in the cluster's
 * change events (`cluster.events`). One definition of a transition, shared by the recorder
 * (`src/analysis/timeline.ts`), the checks, the snapshot file and `clusterDebugger/timeline`.
 */
import { z } from 'zod';
import { CollectionName } from './collections';
import { LogicalTime } from './entities';

/**
 * One entity's state change. `time` is the cluster's logical time of the `cluster.events`
 * notification that carried it (every event of one notification shares it); `seq` is the event's.
 * A state is a short label (`Online`, `Active, prepared`, `term 3, available`): what the collection's
 * entities are "in" (`stateLabel` in `src/analysis/timeline.ts` defines it per collection).
 */
export const Transition = z.object({
  seq: z.number().int().nonnegative(),
  time: LogicalTime,
  collection: CollectionName,
  key: z.string().min(1),
  /** Null: the entity appeared. */
  from: z.string().nullable(),
  /** Null: the entity was deleted. */
  to: z.string().nullable(),
});
export type Transition = z.infer<typeof Transition>;
