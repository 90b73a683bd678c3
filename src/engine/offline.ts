/**
 * Analysis of a `.clustersnap` file on disk: parse, check, and map findings
 * to the file's own lines. Used by the language server (offline snapshots)
 * and by `cluster-check FILE`. And saving a model as a snapshot file.
 *
 * Files are read and written as streams, line by line and chunk by chunk: an
 * incident-scale snapshot (770k entities, a few hundred MB of text) is never
 * whole in memory.
 *
 * No `vscode-languageserver` here.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { COLLECTION_NAMES, type Finding, type Transition } from '../protocol';
import {
  parseSnapshotDocument,
  parseSnapshotStream,
  renderSnapshotChunks,
  runChecks,
  type ClusterModel,
  type SnapshotExtras,
  type DocumentIndex,
  type ParsedSnapshot,
  type SnapshotSyntaxError,
  type SummarisedGroup,
} from '../analysis';
import type { RuleSettings } from './checker';

export interface SnapshotAnalysis {
  model: ClusterModel | null;
  errors: SnapshotSyntaxError[];
  findings: Finding[];
  /** Lines of the file itself. */
  lines: DocumentIndex;
  /** `group NAME count=N` lines (a saved virtual document): entities the file counts but does not hold. */
  summarised: SummarisedGroup[];
  /** The file's timeline, oldest first (empty: the file has none); the timeline rule checks it. */
  timeline: Transition[];
}

function analyse(parsed: ParsedSnapshot, rules: RuleSettings): SnapshotAnalysis {
  const findings = parsed.model ? runChecks(parsed.model, { severities: rules, timeline: parsed.timeline }) : [];
  return {
    model: parsed.model,
    errors: parsed.errors,
    findings,
    lines: parsed.index,
    summarised: parsed.summarised,
    timeline: parsed.timeline,
  };
}

/** A snapshot's text already in memory (an open editor's document). */
export function analyseSnapshot(text: string, rules: RuleSettings = {}): SnapshotAnalysis {
  return analyse(parseSnapshotDocument(text), rules);
}

/** A snapshot file, read as a stream line by line. Rejects only if the file cannot be read. */
export async function analyseSnapshotFile(path: string, rules: RuleSettings = {}): Promise<SnapshotAnalysis> {
  return analyse(await parseSnapshotStream(createReadStream(path, { highWaterMark: 256 * 1024 })), rules);
}

export interface SaveSnapshotOptions {
  /** Called as chunks are written: lines written so far of about `totalLines`. */
  progress?: (linesWritten: number, totalLines: number) => void;
  /** Stops the write (the partial file is removed and the call rejects). */
  cancelled?: () => boolean;
  /** What the file carries beside the model: the cluster's timeline. */
  extras?: SnapshotExtras;
}

export class SnapshotCancelledError extends Error {
  constructor() {
    super('saving the snapshot was cancelled; nothing was written');
    this.name = 'SnapshotCancelledError';
  }
}

/**
 * Writes the model as a `.clustersnap` file, streamed chunk by chunk with the
 * file's backpressure (the text is rendered only as fast as the disk takes
 * it, never whole). Written to a temporary file beside `path`, then renamed
 * over it: a failed or cancelled save leaves no half file. The file holds
 * the model as it was when the call was made.
 */
export async function writeSnapshotFile(
  model: ClusterModel,
  path: string,
  options: SaveSnapshotOptions = {},
): Promise<{ bytes: number; entities: number }> {
  const entities = COLLECTION_NAMES.reduce((n, c) => n + model.collections[c].size, 0);
  // Headers, two lines per subsystem and one per collection: a little above the entity lines.
  const totalLines = entities + 40 + (options.extras?.timeline?.transitions.length ?? 0);
  const chunks = renderSnapshotChunks(model, undefined, options.extras);
  let bytes = 0;
  let lines = 0;
  async function* counted(): AsyncGenerator<Buffer> {
    for (const chunk of chunks) {
      if (options.cancelled?.()) throw new SnapshotCancelledError();
      const buf = Buffer.from(chunk, 'utf8');
      bytes += buf.length;
      for (let i = chunk.indexOf('\n'); i >= 0; i = chunk.indexOf('\n', i + 1)) lines++;
      options.progress?.(lines, totalLines);
      yield buf;
    }
  }
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    await pipeline(Readable.from(counted(), { objectMode: false }), createWriteStream(tmp, { flags: 'wx' }));
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
  return { bytes, entities };
}
