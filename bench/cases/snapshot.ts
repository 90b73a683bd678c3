/**
 * Bench: the snapshot language at the incident's scale. Renders the
 * 763,471-shard cluster to a `.clustersnap` text (what `Cluster: Save
 * Snapshot…` writes), parses it back and runs the checks on the result (what
 * opening the file does), against `JSON.stringify` / `JSON.parse` of the same
 * entities in the same run.
 */
import { COLLECTION_NAMES } from '../../src/protocol';
import { modelFrom, parseSnapshot, renderSnapshot, runChecks } from '../../src/analysis';
import { Simulator } from '../../src/simulator/simulator';

const INCIDENT = { danglingShards: 763_471 - 3_000, liveShards: 3_000 };

export async function benchSnapshot(): Promise<void> {
  const sim = new Simulator();
  sim.reset({ scenario: 'incident-all', seed: 1, size: INCIDENT });
  const model = modelFrom(sim.status(), (c) => sim.entities(c));
  const collections = model.collections;
  const entities = COLLECTION_NAMES.reduce((n, c) => n + collections[c].size, 0);
  console.log(`snapshot: ${entities.toLocaleString('en-US')} entities (incident-all, incident scale)`);

  let t = performance.now();
  const text = renderSnapshot(model);
  const renderMs = performance.now() - t;
  const mb = text.length / 1e6;
  t = performance.now();
  const parsed = parseSnapshot(text);
  const parseMs = performance.now() - t;
  if (parsed.errors.length || !parsed.model) throw new Error(`the rendered snapshot does not parse: ${parsed.errors[0]?.message}`);
  t = performance.now();
  const findings = runChecks(parsed.model);
  const checkMs = performance.now() - t;
  console.log(`snapshot: render ${renderMs.toFixed(0)} ms (${mb.toFixed(0)} MB, ${(mb / (renderMs / 1000)).toFixed(0)} MB/s)`);
  console.log(`snapshot: parse ${parseMs.toFixed(0)} ms (${(mb / (parseMs / 1000)).toFixed(0)} MB/s), check ${checkMs.toFixed(0)} ms, ${findings.length} finding(s)`);

  const all = Object.fromEntries(COLLECTION_NAMES.map((c) => [c, [...collections[c].values()]]));
  t = performance.now();
  const json = JSON.stringify(all);
  const stringifyMs = performance.now() - t;
  t = performance.now();
  JSON.parse(json);
  const jsonParseMs = performance.now() - t;
  console.log(`snapshot: JSON.stringify ${stringifyMs.toFixed(0)} ms, JSON.parse ${jsonParseMs.toFixed(0)} ms (${(json.length / 1e6).toFixed(0)} MB)`);
  console.log(
    `snapshot: ratio render / JSON.stringify ${(renderMs / stringifyMs).toFixed(2)}x, parse / JSON.parse ${(parseMs / jsonParseMs).toFixed(2)}x; ` +
      `peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`,
  );
}
