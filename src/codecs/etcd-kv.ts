/**
 * One etcd key-value as the etcd-backed codecs read and write it (the
 * gateway's etcd client and the simulator's mirror convert to and from the
 * client library's shape). Revisions are etcd's own (`mod_revision`,
 * `create_revision`); an entity built from these keys takes its version from them.
 */
export interface EtcdKv {
  key: string;
  value: Uint8Array;
  modRevision: number;
  createRevision: number;
}

/** A record a codec could not decode: the etcd key and why (the gateway lists it as unreadable). */
export interface UnreadableKey {
  key: string;
  reason: string;
}

export function utf8(bytes: Uint8Array): string {
  return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
}

export function errorText(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 400);
}
