/**
 * Fluvio conformance: the gateway on metadata folders in the shape upstream's SC writes them
 * (test/fixtures/upstream/fluvio, written by hand from upstream's serde definitions; see its README).
 * - A healthy cluster gives 0 findings, also with a leader SPU's disk nearly full (upstream's SPU
 *   reports OutOfStorage only when a write fails: a full disk alone is not the incident).
 * - The incident in its real shape (the file going OutOfStorage → LeaderOffline → Online as the SC
 *   rewrites it) is found; OutOfStorage → Online straight (the SPU's own status update) is not.
 * - A repair changes only `status.resolution` and `meta.revision`; every other byte, and every enum
 *   tag (`cleanupPolicy: !segment`), stays, so serde_yaml 0.9 still loads the file.
 * - While an SC runs on the folder, repairs are refused with the remedy, and no file changes.
 * - The version comes from the local cluster's `local-config`; on a release the rule is not applicable.
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { ClusterClient } from '../../src/cluster/client';
import { ruleReadiness } from '../../src/protocol/readiness';
import type { ClusterStatus } from '../../src/protocol';
import { ROOT } from '../server/sim';
import { cli } from '../cli/cliProcess';
import { startGateway, type RunningGateway } from './gateway';
import { scWrite } from './fluvio-sc';
import { testSecret } from '../secrets';

/** The gateway's token (test/secrets.ts: a whole test run is searched for it). */
const TOKEN = testSecret('gateway');

const FIXTURES = join(ROOT, 'test', 'fixtures', 'upstream', 'fluvio');
const fixture = (path: string) => readFileSync(join(FIXTURES, path), 'utf8');

interface Report {
  findings: Array<{ rule: string; group: string; count: number }>;
}
async function report(gw: RunningGateway): Promise<Report> {
  const run = await cli([gw.url, '--token', TOKEN, '--format', 'json']);
  return JSON.parse(run.stdout) as Report;
}

/** Every tag of a YAML text, in document order. */
function tags(text: string): string[] {
  const out: string[] = [];
  const walk = (n: unknown) => {
    if (!n || typeof n !== 'object') return;
    const node = n as { tag?: string; items?: unknown[]; key?: unknown; value?: unknown };
    if (node.tag) out.push(node.tag);
    if (Array.isArray(node.items)) node.items.forEach(walk);
    if ('key' in node) walk(node.key);
    if ('value' in node) walk(node.value);
  };
  walk(parseDocument(text).contents);
  return out;
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('fluvio conformance (upstream-shaped SC metadata)', function () {
  this.timeout(120_000);
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  /** A local cluster's folders: `<root>/data/metadata` holding the healthy fixture; SPU 5001's disk full. */
  async function cluster(opts: { repairs?: boolean; localConfig?: string } = {}) {
    const root = mkdtempSync(join(tmpdir(), 'fluvio-conf-'));
    cleanups.push(() => rmSync(root, { recursive: true, force: true }));
    const meta = join(root, 'data', 'metadata');
    mkdirSync(meta, { recursive: true });
    cpSync(join(FIXTURES, 'healthy'), meta, { recursive: true });
    const disks = join(root, 'disks');
    mkdirSync(disks);
    writeFileSync(join(disks, 'spu-5001.json'), JSON.stringify({ freeBytes: 0 }));
    writeFileSync(join(disks, 'spu-5002.json'), JSON.stringify({ freeBytes: 10_000_000_000 }));
    if (opts.localConfig !== undefined) writeFileSync(join(root, 'local-config'), opts.localConfig.replace('DATA_DIR', join(root, 'data')));
    const spuStorage = [5001, 5002].map((spuId) => ({ spuId, file: join(disks, `spu-${spuId}.json`) }));
    const gw = await startGateway(
      { fluvio: { metadataDir: meta, spuStorage }, repairs: opts.repairs ?? false, pollMs: 100 },
      { token: TOKEN },
    );
    cleanups.push(gw.stop);
    const client = await ClusterClient.connect({ url: gw.url, token: TOKEN, clientName: 'fluvio-conformance' });
    cleanups.push(() => client.close());
    const file = (key: string) => join(meta, 'Partition', `${key}.yaml`);
    /** Writes a Partition file as the SC would and waits until the gateway shows that resolution. */
    async function scWrites(key: string, text: string): Promise<void> {
      writeFileSync(file(key), text);
      const resolution = /^ {2}resolution: (\w+)$/m.exec(text)![1];
      await until(`${key} ${resolution}`, async () => {
        const got = await client.request('cluster.get', { collection: 'fluvio.partitions', keys: [key] });
        return (got.items as Array<{ resolution: string }>)[0]?.resolution === resolution ? true : undefined;
      });
    }
    const status = async () => (await client.request('cluster.status', {})) as ClusterStatus;
    return { root, meta, gw, client, file, scWrites, status };
  }

  it('healthy: 0 findings, also with a leader SPU whose disk is full (no write failed, nothing reported)', async () => {
    const { gw, meta } = await cluster();
    assert.deepEqual((await report(gw)).findings, [], gw.output());
    // Every fixture file decodes (nothing listed as unreadable).
    assert.deepEqual(readdirSync(join(meta, 'Partition')).sort(), [
      'consumer-offset-0.yaml',
      'events-0.yaml',
      'events-1.yaml',
      'logs-0.yaml',
    ]);
    assert.doesNotMatch(gw.output(), /unreadable/);
  });

  it("the incident in its real shape (OutOfStorage → LeaderOffline → Online) is found; the SPU's own update to Online is not", async () => {
    const { gw, scWrites } = await cluster();
    await scWrites('events-0', fixture('incident/events-0.1-out-of-storage.yaml'));
    await scWrites('events-0', fixture('incident/events-0.2-spu-online.yaml'));
    assert.deepEqual((await report(gw)).findings, [], "Online straight from OutOfStorage is the SPU's LRS update, by design");

    await scWrites('events-0', fixture('incident/events-0.1-out-of-storage.yaml'));
    await scWrites('events-0', fixture('incident/events-0.2-leader-offline.yaml'));
    assert.deepEqual((await report(gw)).findings, []);
    await scWrites('events-0', fixture('incident/events-0.3-online.yaml'));
    const found = (await report(gw)).findings;
    assert.deepEqual(
      found.map((f) => [f.rule, f.group, f.count]),
      [['partitions/online-out-of-space', 'events', 1]],
    );
  });

  it('a repair changes only status.resolution and meta.revision: every other byte and every tag stays (consumer-offset !segment included)', async () => {
    const { gw, scWrites, file } = await cluster({ repairs: true });
    const offsets1 = fixture('incident/consumer-offset-0.1-out-of-storage.yaml');
    await scWrites('consumer-offset-0', offsets1);
    await scWrites('consumer-offset-0', scWrite(offsets1, 'LeaderOffline'));
    await scWrites('consumer-offset-0', scWrite(scWrite(offsets1, 'LeaderOffline'), 'Online'));
    await scWrites('events-0', fixture('incident/events-0.1-out-of-storage.yaml'));
    await scWrites('events-0', fixture('incident/events-0.2-leader-offline.yaml'));
    await scWrites('events-0', fixture('incident/events-0.3-online.yaml'));
    const pre = await report(gw);
    assert.equal(pre.findings.length, 2, JSON.stringify(pre.findings.map((f) => [f.rule, f.group])) + gw.output());
    const before = { events: readFileSync(file('events-0'), 'utf8'), offsets: readFileSync(file('consumer-offset-0'), 'utf8') };

    const run = await cli([gw.url, '--token', TOKEN, '--repair', 'all', '--yes']);
    assert.equal(run.code, 0, run.stdout + run.stderr);

    const after = { events: readFileSync(file('events-0'), 'utf8'), offsets: readFileSync(file('consumer-offset-0'), 'utf8') };
    // Byte for byte: the SC's file with the two scalars changed, nothing else.
    assert.equal(
      after.events,
      before.events.replace('  revision: 121\n', '  revision: 122\n').replace('  resolution: Online\n', '  resolution: OutOfStorage\n'),
    );
    assert.equal(
      after.offsets,
      before.offsets.replace('  revision: 44\n', '  revision: 45\n').replace('  resolution: Online\n', '  resolution: OutOfStorage\n'),
    );
    // Upstream's shape: the version tag and the enum tags are there, as serde_yaml 0.9 needs them.
    assert.deepEqual(tags(after.offsets), ['!1.0.0', '!segment']);
    assert.deepEqual(tags(after.events), ['!1.0.0', '!segment']);
    const doc = parseDocument(after.offsets);
    assert.deepEqual(doc.errors, []);
    assert.equal((doc.getIn(['spec', 'cleanupPolicy'], true) as { tag?: string }).tag, '!segment');
    assert.deepEqual(doc.getIn(['spec', 'cleanupPolicy', 'timeInSeconds']), 604800);
    assert.deepEqual((await report(gw)).findings, []);
  });

  it('while an SC runs on the folder, repairs are refused with the remedy and no file changes', async () => {
    const { gw, meta, scWrites, file, status, client } = await cluster({ repairs: true });
    await scWrites('events-0', fixture('incident/events-0.1-out-of-storage.yaml'));
    await scWrites('events-0', fixture('incident/events-0.2-leader-offline.yaml'));
    await scWrites('events-0', fixture('incident/events-0.3-online.yaml'));
    // A process with an SC's command line, as fluvio-cluster starts it: `<launcher> run sc --local <metadata>`.
    const sc = spawn(
      process.execPath,
      ['-e', 'setInterval(() => {}, 1000)', 'run', 'sc', '--local', meta, '--bind-public', '127.0.0.1:0'],
      { stdio: 'ignore' },
    );
    const exited = new Promise<void>((r) => sc.once('exit', () => r()));
    cleanups.push(async () => {
      if (sc.exitCode === null && sc.signalCode === null) {
        sc.kill();
        await exited;
      }
    });
    const refuses = await until(
      'the refusal',
      async () => (await status()).subsystems?.partitions?.refuses?.['fluvio.restoreFromSpuReport'],
    );
    assert.match(refuses, new RegExp(`a Fluvio SC runs on .* \\(pid ${sc.pid}: `));
    assert.match(refuses, /fluvio cluster shutdown/);
    const before = readFileSync(file('events-0'), 'utf8');
    const run = await cli([gw.url, '--token', TOKEN, '--repair', 'all', '--yes']);
    assert.notEqual(run.code, 0, run.stdout);
    assert.match(run.stdout + run.stderr, /no safe repair/);
    assert.equal(readFileSync(file('events-0'), 'utf8'), before, 'no write while the SC runs');
    // Sent anyway through the protocol: every item refused by the gateway, with the remedy.
    const shown = (await client.request('cluster.get', { collection: 'fluvio.partitions', keys: ['events-0'] })).items as Array<{
      key: string;
      version: number;
    }>;
    const sent = await client.request('repair', {
      requestId: 'fluvio-sc-running',
      incarnation: (await status()).incarnation!,
      repair: { command: 'fluvio.restoreFromSpuReport', targets: [{ key: 'events-0', version: shown[0]!.version }] },
    });
    assert.equal(sent.items.length, 1);
    assert.equal(sent.items[0]!.status, 'refused');
    assert.match(sent.items[0]!.message, /^refused by the gateway: a Fluvio SC runs on .*fluvio cluster shutdown/);
    assert.equal(readFileSync(file('events-0'), 'utf8'), before);

    sc.kill();
    await exited;
    await until('the refusal lifted', async () =>
      (await status()).subsystems?.partitions?.refuses?.['fluvio.restoreFromSpuReport'] === undefined ? true : undefined,
    );
  });

  it('the version comes from local-config: on a release the rule is not applicable (fixed by #4529)', async () => {
    const { status } = await cluster({ localConfig: 'platform_version = "0.18.1"\nlog_dir = "/tmp"\ndata_dir = "DATA_DIR"\n' });
    const s = await until('the version', async () => ((await status()).subsystems?.partitions?.version ? status() : undefined));
    assert.equal(s.subsystems!.partitions!.version!.system, 'Fluvio');
    assert.equal(s.subsystems!.partitions!.version!.version, '0.18.1');
    const r = ruleReadiness('partitions/online-out-of-space', s);
    assert.equal(r.state, 'not-applicable');
    assert.match((r as { reason: string }).reason, /not applicable to Fluvio 0\.18\.1 \(fixed by #4529/);
  });

  it("a local-config of another data folder is not this cluster's version", async () => {
    const { status, client } = await cluster({ localConfig: 'platform_version = "0.18.1"\ndata_dir = "/elsewhere/data"\n' });
    await until('a read', async () =>
      (await client.request('cluster.get', { collection: 'fluvio.partitions', keys: ['events-0'] })).items.length ? true : undefined,
    );
    assert.equal((await status()).subsystems?.partitions?.version, undefined);
  });
});
