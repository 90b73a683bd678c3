/** The cluster's entities as a test compares them: by collection and key, without versions. */
import { COLLECTION_NAMES } from '../../src/protocol';

export type State = Record<string, Record<string, Record<string, unknown>>>;

/** Every entity of the cluster by collection and key, without its version (a re-created entity gets a new one). */
export async function entityState(list: (c: (typeof COLLECTION_NAMES)[number]) => AsyncIterable<unknown[]>): Promise<State> {
  const state: State = {};
  for (const c of COLLECTION_NAMES) {
    const entities: Record<string, Record<string, unknown>> = {};
    for await (const page of list(c)) {
      for (const e of page as Array<{ key: string; version: number }>) {
        const { version: _v, ...fields } = e;
        entities[e.key] = fields;
      }
    }
    state[c] = entities;
  }
  return state;
}
