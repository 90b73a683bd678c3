/**
 * Incremental SHA-256 over the simulator's event trace. Lines are buffered
 * and hashed in chunks so that tracing a 763k-entity bulk build stays cheap.
 */
import { createHash, type Hash } from 'node:crypto';

const CHUNK_CHARS = 1 << 16;

export class TraceHash {
  private hash: Hash = createHash('sha256');
  private buffer = '';
  private count = 0;

  get events(): number {
    return this.count;
  }

  record(line: string): void {
    this.count++;
    this.buffer += line + '\n';
    if (this.buffer.length >= CHUNK_CHARS) {
      this.hash.update(this.buffer);
      this.buffer = '';
    }
  }

  /** The hash of everything recorded so far (the running hash is not disturbed). */
  digest(): string {
    if (this.buffer) {
      this.hash.update(this.buffer);
      this.buffer = '';
    }
    return this.hash.copy().digest('hex');
  }
}
