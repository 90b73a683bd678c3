/** The simulator mirrored into fluvio: not implemented yet. */
import type { StoreMirror } from './mirror';

export function createFluvioMirror(target: string): StoreMirror {
  throw new Error(`mirroring into fluvio (${target}) is not implemented yet`);
}
