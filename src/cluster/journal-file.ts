/**
 * An append-only file of JSON lines, each on disk before `append` resolves: one `write` to a file
 * opened for appending, then `fsync`. The repair journal's writer (its line format:
 * src/protocol/journal.ts), shared by the engine's journal (src/engine/journal.ts, the editor's and
 * `cluster-check`'s) and the gateway's own audit journal (src/gateway/audit.ts). It lives in
 * src/cluster/ because both may import it (scripts/layers.mjs: the engine only this module and the client).
 */
import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { errorText, type JournalLine } from '../protocol';
import type { PackedJournalLine } from '../protocol/before-images';

export class JournalWriteError extends Error {}

export class JournalFile {
  /** Appends from this process, one at a time, in order. */
  private tail: Promise<void> = Promise.resolve();

  constructor(readonly path: string) {}

  /** Appends one line and fsyncs it; rejects (a `JournalWriteError`) if it is not on disk. */
  append(line: JournalLine | PackedJournalLine): Promise<void> {
    const text = `${JSON.stringify(line)}\n`;
    const run = this.tail.then(async () => {
      try {
        await mkdir(dirname(this.path), { recursive: true });
        const fh = await open(this.path, 'a');
        try {
          await fh.write(text);
          await fh.sync();
        } finally {
          await fh.close();
        }
      } catch (e) {
        throw new JournalWriteError(`the repair journal ${this.path} could not be written (${errorText(e)})`);
      }
    });
    this.tail = run.catch(() => undefined);
    return run;
  }
}
