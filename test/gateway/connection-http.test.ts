/**
 * The HTTP side of a cluster's endpoint: the plain routes the simulator serves
 * without a token (PD's API, a Quickwit node's debug route) refuse a Host that
 * is not the address listened on (a DNS-rebinding page), and the upgrade takes
 * the `Bearer` scheme name in any case (RFC 9110 §11.1).
 */
import * as assert from 'node:assert/strict';
import { request } from 'node:http';
import WebSocket from 'ws';
import { hostAllowed } from '../../src/cluster/server';
import { renderText } from '../../src/cli/report';
import { GatewayConfig } from '../../src/gateway/config';
import { Gateway } from '../../src/gateway/gateway';
import type { SubsystemSource } from '../../src/gateway/source';
import { redactUrls } from '../../src/protocol/redact';
import { startSim, type RunningSim } from '../server/sim';

function get(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { Host: host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('cluster endpoint: Host check on the plain HTTP routes, Bearer in any case', function () {
  this.timeout(60_000);
  let sim: RunningSim;
  before(async () => {
    sim = await startSim(['--scenario', 'quickwit-dangling-shards', '--seed', '1']);
  });
  after(async () => {
    await sim?.stop();
  });

  it('answers its debug route for its own address and localhost; refuses another name with 421', async () => {
    const http = sim.url.replace(/^ws:/, 'http:');
    const port = new URL(http).port;
    assert.equal(await get(`${http}/api/developer/debug`, `127.0.0.1:${port}`), 200);
    assert.equal(await get(`${http}/api/developer/debug`, `localhost:${port}`), 200);
    assert.equal(await get(`${http}/api/developer/debug`, `rebound.attacker.example:${port}`), 421);
    assert.equal(await get(`${http}/api/developer/debug`, `127.0.0.1:1`), 421);
  });

  it("user info in a URL never leaves the gateway: not in its log, its status, a repair message, nor cluster-check's text", async () => {
    assert.equal(
      redactUrls('GET http://admin:s3cret@node:7280/x failed; etcd https://root@etcd:2379'),
      'GET http://***@node:7280/x failed; etcd https://***@etcd:2379',
    );
    const source: SubsystemSource = {
      subsystem: 'shards',
      collections: ['quickwit.metastore.shards'],
      commands: ['quickwit.deleteShards'],
      start: async (ctx) => {
        ctx.warning?.('w', 'connected to postgres://qw:s3cret@db/qw in plaintext');
        ctx.log('retrying http://admin:s3cret@node:7280/');
        ctx.health({ state: 'unavailable', reason: 'node http://admin:s3cret@node:7280/: fetch failed' });
      },
      repair: async () => [{ key: 'i/s/1', status: 'refused' as const, message: 'not applied: postgres://qw:s3cret@db/qw unreachable' }],
      close: async () => undefined,
    };
    const logs: string[] = [];
    const gateway = new Gateway(GatewayConfig.parse({ repairs: true }), [source], (m) => logs.push(m));
    await gateway.start();
    const status = gateway.status();
    const result = await gateway.repair({
      requestId: 'r',
      incarnation: status.incarnation!,
      repair: { command: 'quickwit.deleteShards', targets: [{ key: 'i/s/1', version: 1 }] },
    } as never);
    const text = renderText({
      target: 'ws://127.0.0.1:1',
      findings: [],
      syntaxErrors: [],
      documents: {} as never,
      subsystems: status.subsystems,
    });
    const all = [...logs, JSON.stringify(status), JSON.stringify(result), text].join('\n');
    assert.ok(!/s3cret|admin|qw:/.test(all), all);
    assert.match(text, /not checked: shards: unavailable \(node http:\/\/\*\*\*@node:7280\/: fetch failed\)/);
    assert.match(text, /warning: shards: connected to postgres:\/\/\*\*\*@db\/qw in plaintext/);
    await gateway.close();
  });

  it('hostAllowed: the listened-on host, loopback names on loopback, IP literals on a wildcard address', () => {
    assert.equal(hostAllowed('127.0.0.1:80', '127.0.0.1', 80), true);
    assert.equal(hostAllowed('[::1]:80', '127.0.0.1', 80), true);
    assert.equal(hostAllowed('evil.example:80', '127.0.0.1', 80), false);
    assert.equal(hostAllowed('10.1.2.3:80', '0.0.0.0', 80), true);
    assert.equal(hostAllowed('evil.example:80', '0.0.0.0', 80), false);
    assert.equal(hostAllowed('sim.internal:80', 'sim.internal', 80), true);
    assert.equal(hostAllowed(undefined, '127.0.0.1', 80), false);
  });

  it('accepts "bearer" and "BEARER" as the scheme name; a wrong token is still 401', async () => {
    const open = (authorization: string) =>
      new Promise<number | 'open'>((resolve) => {
        const ws = new WebSocket(sim.url, { headers: { Authorization: authorization } });
        ws.on('open', () => {
          ws.close();
          resolve('open');
        });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('error', () => undefined);
      });
    assert.equal(await open(`bearer ${sim.token}`), 'open');
    assert.equal(await open(`BEARER ${sim.token}`), 'open');
    assert.equal(await open(`bearer not-${sim.token}`), 401);
  });
});
