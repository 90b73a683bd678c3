/**
 * Certificates for a test, made with openssl in a temp folder: a private CA,
 * a server certificate for 127.0.0.1 and localhost, one for another name
 * (a host name mismatch), a client certificate (CN `root`, for etcd's
 * `--client-cert-auth`), and a second CA that signed none of them (a wrong CA).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCerts {
  dir: string;
  caFile: string;
  /** Server certificate for IP 127.0.0.1 and DNS localhost. */
  serverCert: string;
  serverKey: string;
  /** Server certificate for DNS db.example only (signed by the same CA). */
  otherCert: string;
  otherKey: string;
  /** Client certificate, CN root. */
  clientCert: string;
  clientKey: string;
  /** A CA that signed nothing here. */
  wrongCaFile: string;
  remove(): void;
}

function openssl(dir: string, args: string[]): void {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args[0]} failed: ${r.stderr}`);
}

export function makeCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'cd-certs-'));
  const ca = (name: string) => {
    openssl(dir, [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=${name}`,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.pem`,
    ]);
  };
  const leaf = (name: string, cn: string, san: string | undefined, usage: string) => {
    openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-keyout', `${name}.key`, '-out', `${name}.csr`]);
    writeFileSync(
      join(dir, `${name}.ext`),
      `${san ? `subjectAltName=${san}\n` : ''}extendedKeyUsage=${usage}\nbasicConstraints=CA:FALSE\n`,
    );
    openssl(dir, [
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-out',
      `${name}.pem`,
      '-extfile',
      `${name}.ext`,
    ]);
  };
  ca('ca');
  ca('wrong-ca');
  leaf('server', '127.0.0.1', 'IP:127.0.0.1,DNS:localhost', 'serverAuth,clientAuth');
  leaf('other', 'db.example', 'DNS:db.example', 'serverAuth,clientAuth');
  leaf('client', 'root', undefined, 'clientAuth');
  const f = (n: string) => join(dir, n);
  return {
    dir,
    caFile: f('ca.pem'),
    serverCert: f('server.pem'),
    serverKey: f('server.key'),
    otherCert: f('other.pem'),
    otherKey: f('other.key'),
    clientCert: f('client.pem'),
    clientKey: f('client.key'),
    wrongCaFile: f('wrong-ca.pem'),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
