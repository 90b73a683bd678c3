/**
 * The repair journal: an append-only file of JSON lines, one line per step of
 * a repair, written by the engine (the language server, `cluster-check`) and
 * read by undo and by the editor's Repair History.
 *
 * A repair writes, in order:
 *  - `repair`: when, which cluster (and incarnation), which finding and rule,
 *    the plan, and whether it can be undone;
 *  - per batch, `intent` (its operation and the before-image of every entity
 *    it may change or delete), synced to disk *before* the batch is sent;
 *  - per batch, `result` once the cluster answered (or `unknown` if it never did);
 *  - `end`, with the repair's summary.
 * A batch with an `intent` and no `result` was interrupted (a crash): it may
 * or may not have been applied.
 *
 * A gateway's own audit journal (src/gateway/audit.ts) has the same lines: one `repair` line per
 * client repair (its first batch; a gateway restarted mid-repair writes it again, and readers keep
 * the batches of both), `intent` and `result` per batch, an `end` after each batch with the totals
 * so far (readers keep the last); and `preview` lines, audit only, which history and undo ignore.
 * It serves them over the protocol (`journal.read`), so every engineer's editor reads one history.
 */
import { z } from 'zod';
import { CollectionName, COLLECTIONS } from './collections';
import { RepairCommand } from './repair-command';
import { RepairSafety, RuleId } from './findings';

export const JOURNAL_VERSION = 1;

/** An entity as the synced model held it just before the batch was sent. */
export const BeforeImage = z.object({
  collection: CollectionName,
  key: z.string(),
  /** The entity, or null when the model did not hold it (nothing to restore). */
  entity: z.record(z.string(), z.unknown()).nullable(),
});
export type BeforeImage = z.infer<typeof BeforeImage>;

export const JournalSource = z.enum(['editor', 'cli', 'gateway']);
export type JournalSource = z.infer<typeof JournalSource>;

const common = {
  /** The repair's id (every line of a repair carries it). */
  repair: z.string().min(1).max(128),
  /** ISO 8601 wall-clock time of the line. */
  at: z.string(),
};

export const JournalRepairLine = z.object({
  type: z.literal('repair'),
  v: z.literal(JOURNAL_VERSION),
  ...common,
  cluster: z.string(),
  url: z.string().optional(),
  incarnation: z.string(),
  /** Who ran it: the editor's language server, `cluster-check`, or a gateway's own audit journal (one line per request it was sent). */
  source: JournalSource,
  /** The user whose token sent it, on a gateway with per-user tokens (its audit journal says who). */
  user: z.string().optional(),
  findingId: z.string(),
  rule: RuleId.optional(),
  option: z.object({
    id: z.string(),
    title: z.string(),
    safety: RepairSafety,
    undoable: z.boolean(),
    undoNote: z.string().optional(),
  }),
  /** The plan: per operation, its command and how many entities it acts on (each `intent` holds the operation itself). */
  plan: z.array(z.object({ command: z.string(), targets: z.number().int().nonnegative() })),
  /** Set on an undo: the id of the repair it takes back. */
  undoOf: z.string().optional(),
  /** Set on each repair of one Repair All run: the run's id (the history lists the run as one row). */
  run: z.string().optional(),
});
export type JournalRepairLine = z.infer<typeof JournalRepairLine>;

export const JournalIntentLine = z.object({
  type: z.literal('intent'),
  ...common,
  batch: z.number().int().nonnegative(),
  requestId: z.string(),
  operation: RepairCommand,
  before: z.array(BeforeImage),
});
export type JournalIntentLine = z.infer<typeof JournalIntentLine>;

export const JournalResultLine = z.object({
  type: z.literal('result'),
  ...common,
  batch: z.number().int().nonnegative(),
  requestId: z.string(),
  /** `applied`: the cluster answered. `not-sent`: it was never sent (the cluster restarted). `unknown`: sent, no answer. */
  outcome: z.enum(['answered', 'not-sent', 'unknown']),
  /** Keys applied, with the version the repair left where the cluster said. */
  applied: z.array(z.object({ key: z.string(), version: z.number().int().nonnegative().optional() })),
  refused: z.array(z.object({ key: z.string(), message: z.string() })),
  unchanged: z.number().int().nonnegative(),
  summary: z.string(),
});
export type JournalResultLine = z.infer<typeof JournalResultLine>;

export const JournalEndLine = z.object({
  type: z.literal('end'),
  ...common,
  applied: z.number().int().nonnegative(),
  refused: z.number().int().nonnegative(),
  cancelled: z.boolean(),
  summary: z.string(),
});
export type JournalEndLine = z.infer<typeof JournalEndLine>;

/** A repair preview computed by a client of a gateway (`audit.preview`): who looked at which plan. Audit only. */
export const JournalPreviewLine = z.object({
  type: z.literal('preview'),
  at: z.string(),
  user: z.string().optional(),
  cluster: z.string(),
  findingId: z.string(),
  rule: RuleId.optional(),
  title: z.string(),
  /** The entities the previewed plan acts on. */
  targets: z.number().int().nonnegative(),
});
export type JournalPreviewLine = z.infer<typeof JournalPreviewLine>;

export const JournalLine = z.discriminatedUnion('type', [
  JournalRepairLine,
  JournalIntentLine,
  JournalResultLine,
  JournalEndLine,
  JournalPreviewLine,
]);
export type JournalLine = z.infer<typeof JournalLine>;

// ----------------------------------------------- served by a gateway --

/** Most lines one `journal.read` page may carry. */
export const MAX_JOURNAL_READ_LIMIT = 5000;

/** `journal.read`: the lines after line number `after` (1-based; 0 or absent: from the start). */
export const JournalReadParams = z.object({
  after: z.number().int().nonnegative().optional(),
  limit: z.number().int().positive().max(MAX_JOURNAL_READ_LIMIT).default(1000),
});
export type JournalReadParams = z.input<typeof JournalReadParams>;

export const JournalReadResult = z.object({
  /** The valid lines of the page, in order. */
  lines: z.array(JournalLine),
  /** The number of the last line the page covers: the next page's `after`. */
  next: z.number().int().nonnegative(),
  /** True when the page reached the end of the journal as it was when read. */
  end: z.boolean(),
  /** The page's lines that did not parse or validate, in words, with their line numbers. */
  problems: z.array(z.string()),
});
export type JournalReadResult = z.infer<typeof JournalReadResult>;

/**
 * `audit.preview`: a client computed a preview of a repair (previews never reach the cluster
 * otherwise). The gateway journals it as a `preview` line with the caller's user. Strings are
 * bounded; an unknown `rule` is left out of the line.
 */
export const AuditPreviewParams = z.object({
  findingId: z.string().max(1024),
  rule: z.string().max(128).optional(),
  title: z.string().max(1024),
  targets: z.number().int().nonnegative(),
});
export type AuditPreviewParams = z.infer<typeof AuditPreviewParams>;

/** A before-image's entity, checked against its collection's schema (undo writes only well-formed entities back). */
export function parseImageEntity(
  image: BeforeImage,
): { ok: true; entity: { key: string; version: number } & Record<string, unknown> } | { ok: false; reason: string } {
  if (!image.entity) return { ok: false, reason: `${image.collection} ${image.key} was not in the model when the repair ran` };
  const parsed = COLLECTIONS[image.collection].schema.safeParse(image.entity);
  if (!parsed.success)
    return {
      ok: false,
      reason: `${image.collection} ${image.key}: before-image is not a valid entity (${parsed.error.issues[0]?.message ?? 'invalid'})`,
    };
  return { ok: true, entity: parsed.data as { key: string; version: number } & Record<string, unknown> };
}

// ------------------------------------------------ history, as the editor shows it --

export const BatchState = z.enum(['applied', 'refused', 'partly-applied', 'unchanged', 'not-sent', 'unknown']);
export type BatchState = z.infer<typeof BatchState>;

/** One repair as read back from the journal (for the history tree, undo's pick list, `cluster-check undo`). */
export const RepairHistoryEntry = z.object({
  id: z.string(),
  at: z.string(),
  cluster: z.string(),
  findingId: z.string(),
  rule: RuleId.optional(),
  title: z.string(),
  safety: RepairSafety,
  source: JournalSource,
  /** Who sent it (a gateway's audit journal). */
  user: z.string().optional(),
  undoOf: z.string().optional(),
  /** Undo offers it: undoable, something was (or may have been) applied, and not undone already. */
  undoable: z.boolean(),
  /** Why not, in words. */
  undoNote: z.string().optional(),
  /** The id of the undo that took it back, if one did (the view says "undone", not "not undoable"). */
  undoneBy: z.string().optional(),
  /** The Repair All run it was one of. */
  run: z.string().optional(),
  /** The repair's summary, or why it has none (interrupted). */
  summary: z.string(),
  finished: z.boolean(),
  batches: z.array(
    z.object({
      batch: z.number().int().nonnegative(),
      command: z.string(),
      targets: z.number().int().nonnegative(),
      state: BatchState,
      summary: z.string(),
    }),
  ),
});
export type RepairHistoryEntry = z.infer<typeof RepairHistoryEntry>;
