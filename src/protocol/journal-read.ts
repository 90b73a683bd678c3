/**
 * Reading a repair journal's text (its line format: journal.ts): every line validated, packed batches
 * (before-images.ts) unpacked first, so every reader (the Repair History, undo, `cluster-check undo`,
 * a gateway serving `journal.read`) sees plain lines.
 */
import { JournalLine } from './journal';
import { unpackJournalLine } from './before-images';

export interface JournalRead {
  lines: JournalLine[];
  /** Lines that did not parse or validate, in words (a torn last line is one). */
  problems: string[];
}

/**
 * Validates a journal's text, line by line. `firstLine`: the number of the text's first line in its
 * file (a page of it), for the problems' words. A line that does not parse is reported, never fatal.
 */
export function parseJournal(text: string, firstLine = 1): JournalRead {
  const lines: JournalLine[] = [];
  const problems: string[] = [];
  const raw = text.split('\n');
  const torn = raw[raw.length - 1] !== '';
  raw.forEach((l, i) => {
    if (l === '') return;
    const n = i + firstLine;
    const last = i === raw.length - 1;
    let json: unknown;
    try {
      json = JSON.parse(l);
    } catch {
      problems.push(last && torn ? `line ${n}: torn (the writer stopped in the middle of it); ignored` : `line ${n}: not JSON; ignored`);
      return;
    }
    try {
      json = unpackJournalLine(json);
    } catch (e) {
      problems.push(`line ${n}: a packed batch that cannot be read (${e instanceof Error ? e.message : String(e)}); ignored`);
      return;
    }
    const parsed = JournalLine.safeParse(json);
    if (parsed.success) lines.push(parsed.data);
    else
      problems.push(
        `line ${n}: not a journal line (${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}); ignored`,
      );
  });
  return { lines, problems };
}
