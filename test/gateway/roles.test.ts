/**
 * One gateway, many engineers (#20 item 5), over a REAL etcd: per-user tokens kept as salted
 * hashes (`cluster-gateway hash-token`), a viewer's repair refused item by item with the reason
 * while an operator's applies, a wrong token and a foreign Origin refused with a clear error, and
 * no token in anything the test's processes printed or answered.
 */
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseJournal, repairHistory } from '../../src/engine/journal';
import { ClusterClient } from '../../src/cluster/client';
import { hashToken, usersAuth, verifyToken } from '../../src/cluster/auth';
import { GatewayConfig } from '../../src/gateway/config';
import { OUT } from '../server/sim';
import { cli, type Run } from '../cli/cliProcess';
import { startSim, type RunningSim } from '../server/sim';
import { snapshotKeys, startEtcd, type RunningEtcd } from './etcd';
import { startGateway, type RunningGateway } from './gateway';
import { removeTestDir, testSecret } from '../secrets';

const SIM_TOKEN = testSecret('sim');
const ALL_PREFIXES = ['/__procedure__/', '__table_info/', '__table_name/'];

/** `cluster-gateway hash-token`, the token on stdin. */
function hashTokenCli(token: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(OUT, 'cluster-gateway.js'), 'hash-token'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.once('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(`${token}\n`);
  });
}

interface JsonFinding {
  rule: string;
  id: string;
  count: number;
}

describe('gateway users and roles (per-user tokens over a real etcd)', function () {
  this.timeout(90_000);
  // Random, so a grep of the outputs for them finds only a leak.
  const aliceToken = testSecret('alice');
  const bobToken = testSecret('bob');
  let etcd: RunningEtcd | undefined;
  let sim: RunningSim | undefined;
  let gateway: RunningGateway | undefined;
  /** Everything the test's processes printed and the errors they gave: none may hold a token. */
  const outputs: string[] = [];

  afterEach(async () => {
    await gateway?.stop();
    await sim?.stop();
    await etcd?.stop();
    [gateway, sim, etcd] = [undefined, undefined, undefined];
  });

  after(() => {
    const all = outputs.join('\n');
    assert.ok(all.length > 0);
    for (const [who, token] of [
      ['alice', aliceToken],
      ['bob', bobToken],
    ] as const)
      assert.ok(!all.includes(token), `${who}'s token appears in an output`);
  });

  async function check(url: string, token: string, ...args: string[]): Promise<Run> {
    const run = await cli([url, '--token', token, ...args]);
    outputs.push(run.stdout, run.stderr);
    return run;
  }

  async function findings(url: string, token: string): Promise<JsonFinding[]> {
    const run = await check(url, token, '--format', 'json');
    assert.ok(run.code === 0 || run.code === 1, run.stdout + run.stderr);
    return (JSON.parse(run.stdout) as { findings: JsonFinding[] }).findings;
  }

  it('hash-token reads the token from stdin and writes a salted scrypt hash; hashes of one token differ and both verify', async () => {
    const a = await hashTokenCli(aliceToken);
    const b = await hashTokenCli(aliceToken);
    outputs.push(a.stderr, b.stderr);
    assert.equal(a.code, 0, a.stderr);
    const [ha, hb] = [a.stdout.trim(), b.stdout.trim()];
    assert.match(ha, /^scrypt\$16384\$8\$1\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/);
    assert.notEqual(ha, hb, 'a random salt per hash');
    assert.ok(await verifyToken(aliceToken, ha));
    assert.ok(await verifyToken(aliceToken, hb));
    assert.ok(!(await verifyToken(bobToken, ha)));
    const withArg = await new Promise<Run>((resolve) => {
      const child = spawn(process.execPath, [join(OUT, 'cluster-gateway.js'), 'hash-token', aliceToken], { stdio: 'pipe' });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (out += d));
      child.on('close', (code) => resolve({ code, stdout: out, stderr: '' }));
      child.stdin.end();
    });
    outputs.push(withArg.stdout);
    assert.equal(withArg.code, 2, 'a token on the command line is refused');
    assert.match(withArg.stdout, /reads the token from stdin/);
  });

  it('a config with a malformed hash or a user twice is refused; usersAuth knows who a token is', async () => {
    const good = await hashToken(bobToken, { N: 1024, r: 8, p: 1 });
    assert.ok(!GatewayConfig.safeParse({ users: [{ name: 'bob', role: 'viewer', tokenHash: 'plain' }] }).success);
    assert.ok(
      !GatewayConfig.safeParse({
        users: [
          { name: 'bob', role: 'viewer', tokenHash: good },
          { name: 'bob', role: 'operator', tokenHash: good },
        ],
      }).success,
    );
    const auth = usersAuth([{ name: 'bob', role: 'viewer', tokenHash: good }]);
    assert.deepEqual(await auth(`Bearer ${bobToken}`), { user: 'bob', role: 'viewer' });
    assert.deepEqual(await auth(`bearer ${bobToken}`), { user: 'bob', role: 'viewer' }, 'again, from the cache');
    assert.equal(await auth(`Bearer ${aliceToken}`), undefined);
    assert.equal(await auth(undefined), undefined);
  });

  it("a viewer's repair is refused item by item with the reason, an operator's applies; a wrong token and a foreign Origin are refused", async () => {
    etcd = await startEtcd();
    sim = await startSim(['--etcd', etcd.url, '--scenario', 'greptime-ddl-backlog', '--token', SIM_TOKEN]);
    const expected = await findings(sim.url, SIM_TOKEN);
    assert.ok(expected.length > 0);
    const users = [
      { name: 'alice', role: 'operator' as const, tokenHash: await hashToken(aliceToken) },
      { name: 'bob', role: 'viewer' as const, tokenHash: await hashToken(bobToken) },
    ];
    const dir = mkdtempSync(join(tmpdir(), 'roles-test-'));
    const journal = join(dir, 'audit.jsonl');
    gateway = await startGateway({
      greptime: { etcd: { endpoints: [etcd.url] } },
      repairs: true,
      users,
      allowedOrigins: ['https://console.example'],
      journal,
    });
    assert.match(gateway.stdout(), /users: operators alice; viewers bob/);
    const url = gateway.url;
    const deadline = Date.now() + 20_000;
    while ((await findings(url, bobToken)).length !== expected.length) {
      assert.ok(Date.now() < deadline, "the simulator's findings through the gateway");
      await new Promise((r) => setTimeout(r, 250));
    }

    // Who each connection is, in `initialize`.
    const bob = await ClusterClient.connect({ url, token: bobToken, clientName: 'roles-test' });
    try {
      assert.deepEqual(bob.init.caller, { user: 'bob', role: 'viewer' });
      const procedures: { key: string; version: number }[] = [];
      for await (const page of bob.listAll('greptime.procedures'))
        procedures.push(...page.map((p) => ({ key: p.key, version: p.version })));
      assert.ok(procedures.length >= 2);
      const before = await snapshotKeys(etcd.client, ALL_PREFIXES);
      const result = await bob.request('repair', {
        requestId: randomUUID(),
        incarnation: bob.init.status.incarnation!,
        repair: { command: 'greptime.purgeProcedures', targets: procedures },
      });
      assert.equal(result.applied, 0);
      assert.equal(result.refused, procedures.length);
      assert.deepEqual(
        result.items.map((i) => [i.key, i.status, i.message]),
        procedures.map((p) => [p.key, 'refused', 'user bob is a viewer: repairs need the operator role']),
      );
      outputs.push(JSON.stringify(result), JSON.stringify(bob.init));
      assert.deepEqual(await snapshotKeys(etcd.client, ALL_PREFIXES), before, 'etcd is as it was');
    } finally {
      bob.close();
    }

    // The same through cluster-check: every batch refused with the reason, nothing written.
    const before = await snapshotKeys(etcd.client, ALL_PREFIXES);
    const viewerRun = await check(url, bobToken, '--repair', 'all', '--yes');
    assert.match(viewerRun.stdout, /user bob is a viewer: repairs need the operator role/, viewerRun.stdout);
    assert.doesNotMatch(viewerRun.stdout, /applied [1-9]/, viewerRun.stdout);
    assert.deepEqual(await snapshotKeys(etcd.client, ALL_PREFIXES), before, 'a viewer wrote nothing');

    // A wrong token, and a right one from a web page of another origin: refused before any WebSocket, with why.
    const wrong = await check(url, testSecret('wrong'), '--format', 'json');
    assert.equal(wrong.code, 2, wrong.stdout + wrong.stderr);
    assert.match(wrong.stderr, /refused the token \(HTTP 401\)/);
    await assert.rejects(ClusterClient.connect({ url, token: `${aliceToken}x`, clientName: 'roles-test' }), (e: Error) => {
      outputs.push(e.message);
      return /refused the token \(HTTP 401\)/.test(e.message);
    });
    await assert.rejects(
      ClusterClient.connect({ url, token: aliceToken, clientName: 'roles-test', headers: { Origin: 'https://evil.example' } }),
      (e: Error) => {
        outputs.push(e.message);
        return /origin not allowed \(HTTP 403\)/.test(e.message);
      },
    );
    const fromConsole = await ClusterClient.connect({
      url,
      token: aliceToken,
      clientName: 'roles-test',
      headers: { Origin: 'https://console.example' },
    });
    assert.deepEqual(fromConsole.init.caller, { user: 'alice', role: 'operator' });
    fromConsole.close();

    // The operator's repairs apply (disableAutoCreate is refused by etcd's own rule, as in etcd-e2e).
    const operatorRun = await check(url, aliceToken, '--repair', 'all', '--yes');
    assert.doesNotMatch(operatorRun.stdout, /is a viewer/, operatorRun.stdout);
    assert.match(operatorRun.stdout, /All findings repaired\./, operatorRun.stdout);
    assert.equal(operatorRun.code, 0, operatorRun.stdout + operatorRun.stderr);
    assert.deepEqual(await findings(url, bobToken), [], 'the viewer sees the operator’s repair');

    // The gateway's own journal lists both users' requests: the viewer's refused, the operator's applied with before-images.
    const text = readFileSync(journal, 'utf8');
    outputs.push(text);
    const read = parseJournal(text);
    assert.deepEqual(read.problems, []);
    const heads = read.lines.filter((l) => l.type === 'repair');
    assert.deepEqual([...new Set(heads.map((l) => l.user))].sort(), ['alice', 'bob']);
    assert.ok(heads.every((l) => l.source === 'gateway'));
    const history = repairHistory(read.lines);
    const bobs = history.filter((h) => h.user === 'bob');
    const alices = history.filter((h) => h.user === 'alice');
    assert.ok(bobs.length > 0 && bobs.every((h) => h.batches.every((b) => b.state === 'refused')), JSON.stringify(bobs));
    assert.ok(
      alices.some((h) => h.batches.some((b) => b.state === 'applied')),
      JSON.stringify(alices),
    );
    // Each of the operator's requests with targets has their before-images, as the gateway's mirror held them.
    const alicesIntents = read.lines.filter(
      (l) => l.type === 'intent' && 'targets' in l.operation && heads.find((h) => h.repair === l.repair)?.user === 'alice',
    );
    assert.ok(alicesIntents.length > 0);
    for (const l of alicesIntents) assert.ok(l.type === 'intent' && l.before.length > 0 && l.before.every((b) => b.entity !== null));

    await gateway.stop();
    outputs.push(gateway.output());
    removeTestDir(dir);
  });

  it('--token is refused beside "users" in the config', async () => {
    const users = [{ name: 'alice', role: 'operator' as const, tokenHash: await hashToken(aliceToken, { N: 1024, r: 8, p: 1 }) }];
    await assert.rejects(startGateway({ users }, { token: testSecret('gateway'), deadlineMs: 10_000 }), (e: Error) => {
      outputs.push(e.message);
      return /--token is not used with "users"/.test(e.message);
    });
  });
});
