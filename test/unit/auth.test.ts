/** Who a token is (src/cluster/auth.ts): the stored hash's format, the shared token, per-user hashes. */
import * as assert from 'node:assert/strict';
import {
  bearerToken,
  hashToken,
  sharedTokenAuth,
  SHARED_TOKEN_CALLER,
  tokenHashProblem,
  usersAuth,
  verifyToken,
} from '../../src/cluster/auth';

const CHEAP = { N: 1024, r: 8, p: 1 };

describe('token auth', () => {
  it('reads a bearer token, the scheme in any case; anything else is none', () => {
    assert.equal(bearerToken('Bearer abc'), 'abc');
    assert.equal(bearerToken('bearer  abc'), 'abc');
    assert.equal(bearerToken('Basic abc'), undefined);
    assert.equal(bearerToken(undefined), undefined);
    assert.equal(bearerToken('Bearer '), undefined);
  });

  it('one shared token: its holder is an operator; another token, or none, is nobody', async () => {
    const auth = sharedTokenAuth('s3cret');
    assert.equal(await auth('Bearer s3cret'), SHARED_TOKEN_CALLER);
    assert.equal(SHARED_TOKEN_CALLER.role, 'operator');
    assert.equal(await auth('Bearer s3cre'), undefined);
    assert.equal(await auth(undefined), undefined);
    assert.equal(await auth('s3cret'), undefined);
  });

  it('a hash is scrypt$N$r$p$SALT$HASH with a fresh salt; a malformed one is refused with why', async () => {
    const h = await hashToken('tok', CHEAP);
    assert.match(h, /^scrypt\$1024\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    assert.equal(tokenHashProblem(h), undefined);
    assert.notEqual(await hashToken('tok', CHEAP), h);
    assert.ok(await verifyToken('tok', h));
    assert.ok(!(await verifyToken('tok2', h)));
    assert.match(tokenHashProblem('tok')!, /scrypt\$N\$r\$p\$SALT\$HASH/);
    assert.match(tokenHashProblem(h.replace('$1024$', '$1000$'))!, /power of two/);
    assert.ok(!(await verifyToken('tok', 'sha256$abc')));
    await assert.rejects(hashToken(''), /empty/);
  });

  it('per-user hashes: each token is its user with their role; a bad hash stops it being built', async () => {
    const auth = usersAuth([
      { name: 'alice', role: 'operator', tokenHash: await hashToken('a-token', CHEAP) },
      { name: 'bob', role: 'viewer', tokenHash: await hashToken('b-token', CHEAP) },
    ]);
    assert.deepEqual(await auth('Bearer a-token'), { user: 'alice', role: 'operator' });
    assert.deepEqual(await auth('Bearer b-token'), { user: 'bob', role: 'viewer' });
    assert.deepEqual(await auth('Bearer b-token'), { user: 'bob', role: 'viewer' });
    assert.equal(await auth('Bearer c-token'), undefined);
    assert.throws(() => usersAuth([{ name: 'eve', role: 'viewer', tokenHash: 'plain' }]), /user eve: not a token hash/);
  });
});
