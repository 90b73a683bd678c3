/**
 * Bench: `Cluster: Find Entity…` at the incident's scale (incident-all, 763,471 shards) in process:
 * the time `findEntities` takes for a page of 200 (a query most keys hold: it stops at the 200th
 * match), for a key near the end of the model, and for a query no key holds (every key read).
 * Printed, not asserted.
 */
import { findEntities, modelFrom, type ClusterModel } from '../../src/analysis';
import { Simulator } from '../../src/simulator/simulator';
import { INCIDENT } from '../processes';

export async function benchFind(): Promise<void> {
  const sim = new Simulator();
  sim.reset({ scenario: 'incident-all', seed: 1, size: INCIDENT });
  const model = modelFrom(sim.status(), (c) => sim.entities(c));
  let total = 0;
  for (const c of Object.values(model.collections)) total += c.size;
  let last = '';
  for (const key of model.collections['quickwit.metastore.shards'].keys()) last = key;
  const cases: Array<[string, string]> = [
    ['a page of a common query ("_ingest")', '_ingest'],
    ['the last metastore shard, by its id', last.slice(last.lastIndexOf('/') + 1)],
    ['a query no key holds', 'no-such-entity'],
  ];
  console.log(`find: ${total.toLocaleString('en-US')} entities (incident-all, incident scale), pages of 200`);
  for (const [what, query] of cases) {
    const runs = timed(model, query);
    console.log(
      `find: ${what}: ${runs.matches} matches, ${runs.scanned.toLocaleString('en-US')} keys read, median ${runs.median.toFixed(1)} ms (5 runs)`,
    );
  }
}

function timed(model: ClusterModel, query: string): { median: number; matches: number; scanned: number } {
  const ms: number[] = [];
  let page = findEntities(model, query, 200);
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    page = findEntities(model, query, 200);
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return { median: ms[2]!, matches: page.matches.length, scanned: page.scanned };
}
