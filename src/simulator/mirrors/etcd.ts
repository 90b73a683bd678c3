/** The simulator mirrored into etcd: not implemented yet. */
import type { StoreMirror } from './mirror';

export function createEtcdMirror(target: string): StoreMirror {
  throw new Error(`mirroring into etcd (${target}) is not implemented yet`);
}
