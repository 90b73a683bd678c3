/** The simulator mirrored into postgres: not implemented yet. */
import type { StoreMirror } from './mirror';

export function createPostgresMirror(target: string): StoreMirror {
  throw new Error(`mirroring into postgres (${target}) is not implemented yet`);
}
