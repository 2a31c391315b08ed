// node-oidc-provider configured like resonite-auth, for the load benchmark only.
//
// Same paths, same client (confidential, client_secret_basic, PKCE S256, one loopback redirect
// URI), same scopes, an RS256 2048-bit signing key, refresh token rotation, introspection on.
// Storage: in process memory, through the Adapter interface, indexed like the package's example
// Redis adapter (a set of keys per grant, so saving a token is O(1)). The package's own
// MemoryAdapter is an LRU of 1,000 entries (it would evict the pre-minted codes) whose per-grant
// bookkeeping scans every token of the grant on each save. In-process memory is the fastest
// store this peer can have: our server pays for a real database on every request.
//
// Environment: PORT, BENCH_CLIENT_ID, BENCH_CLIENT_SECRET, BENCH_REDIRECT_URI.
// Extra route (benchmark only, loopback only): POST /bench/mint?n=N&scope=...&challenge=...
// mints N authorization codes through the provider's model API (its Adapter), answering one
// code per line.

import { generateKeyPairSync } from 'node:crypto';
import http from 'node:http';

import Provider from 'oidc-provider';

const port = Number(process.env.PORT ?? 8090);
const issuer = `http://127.0.0.1:${port}`;
const clientId = process.env.BENCH_CLIENT_ID ?? 'bench-client';
const clientSecret = process.env.BENCH_CLIENT_SECRET ?? 'bench-secret-bench-secret-bench-secret';
const redirectUri = process.env.BENCH_REDIRECT_URI ?? 'http://127.0.0.1:65500/callback';
const accountId = 'U-bench-peer';

const store = new Map(); // `${model}:${id}` → payload
const grantKeys = new Map(); // grantId → Set of store keys issued under it
const byUid = new Map();
const byUserCode = new Map();

// Entries expire by their own `exp`, which the models check; the benchmark is bounded, so
// nothing is swept.
class MapAdapter {
  constructor(model) {
    this.model = model;
  }

  key(id) {
    return `${this.model}:${id}`;
  }

  async upsert(id, payload) {
    const key = this.key(id);
    store.set(key, payload);
    if (payload.grantId) {
      let keys = grantKeys.get(payload.grantId);
      if (!keys) grantKeys.set(payload.grantId, (keys = new Set()));
      keys.add(key);
    }
    if (payload.uid) byUid.set(payload.uid, id);
    if (payload.userCode) byUserCode.set(payload.userCode, id);
  }

  async find(id) {
    return store.get(this.key(id));
  }

  async findByUid(uid) {
    const id = byUid.get(uid);
    return id === undefined ? undefined : this.find(id);
  }

  async findByUserCode(userCode) {
    const id = byUserCode.get(userCode);
    return id === undefined ? undefined : this.find(id);
  }

  async consume(id) {
    const payload = store.get(this.key(id));
    if (payload) payload.consumed = Math.floor(Date.now() / 1000);
  }

  async destroy(id) {
    store.delete(this.key(id));
  }

  async revokeByGrantId(grantId) {
    for (const key of grantKeys.get(grantId) ?? []) store.delete(key);
    grantKeys.delete(grantId);
  }
}

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256', kid: 'bench' };

const account = {
  accountId,
  async claims() {
    return {
      sub: accountId,
      preferred_username: 'BenchUser',
      picture: null,
      email: 'bench@example.com',
      email_verified: true,
    };
  },
};

const provider = new Provider(issuer, {
  adapter: MapAdapter,
  clients: [{
    client_id: clientId,
    client_secret: clientSecret,
    redirect_uris: [redirectUri],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  async findAccount(_ctx, sub) {
    return sub === accountId ? account : undefined;
  },
  claims: {
    openid: ['sub'],
    profile: ['preferred_username', 'picture'],
    email: ['email', 'email_verified'],
  },
  scopes: ['openid', 'offline_access', 'profile', 'email'],
  cookies: { keys: ['bench-cookie-key-not-a-secret'] },
  jwks: { keys: [signingKey] },
  pkce: { required: () => true },
  rotateRefreshToken: true,
  ttl: {
    AccessToken: 3600,
    AuthorizationCode: 600,
    IdToken: 3600,
    RefreshToken: 14 * 86400,
    Grant: 14 * 86400,
    Session: 14 * 86400,
    Interaction: 600,
  },
  features: {
    devInteractions: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
  },
  routes: {
    authorization: '/connect/authorize',
    token: '/connect/token',
    userinfo: '/connect/userinfo',
    jwks: '/.well-known/openid-configuration/jwks',
    introspection: '/connect/introspect',
    revocation: '/connect/revocation',
  },
});

async function mint(url, res) {
  const n = Math.min(Number(url.searchParams.get('n') ?? 1), 200000);
  const scope = url.searchParams.get('scope') ?? 'openid profile offline_access';
  const client = await provider.Client.find(clientId);
  const codes = [];
  for (let i = 0; i < n; i += 1) {
    // One grant per code, as one consent per person would give.
    const grant = new provider.Grant({ accountId, clientId });
    grant.addOIDCScope(scope);
    const grantId = await grant.save();
    const code = new provider.AuthorizationCode({
      accountId,
      amr: ['pwd'],
      authTime: Math.floor(Date.now() / 1000),
      client,
      codeChallenge: url.searchParams.get('challenge'),
      codeChallengeMethod: 'S256',
      grantId,
      redirectUri,
      scope,
    });
    codes.push(await code.save());
  }
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end(`${codes.join('\n')}\n`);
}

const callback = provider.callback();
const server = http.createServer((req, res) => {
  if (req.method === 'POST' && req.url.startsWith('/bench/mint')) {
    mint(new URL(req.url, issuer), res).catch((error) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(error));
    });
    return;
  }
  callback(req, res);
});
server.keepAliveTimeout = 65000;
server.listen(port, '127.0.0.1', () => {
  console.log(`node-oidc-provider ${issuer}`);
});
