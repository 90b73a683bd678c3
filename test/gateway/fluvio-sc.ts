/**
 * Test stand-in for a write of the SC itself (`SpecStore::apply` in fluvio-stream-dispatcher
 * `metadata/local.rs`): serde_yaml rewrites the whole file from memory, so a status change shows as
 * a new `status.resolution` and `meta.revision + 1` with every other field as the SC holds it.
 * Done on the text, independently of the gateway's codec.
 */
export function scWrite(text: string, resolution: string): string {
  return text
    .replace(/^( {2}resolution: )\w+$/m, `$1${resolution}`)
    .replace(/^( {2}revision: )(\d+)$/m, (_m, p: string, n: string) => `${p}${Number(n) + 1}`);
}
