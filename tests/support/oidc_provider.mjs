// A real OpenID provider for the tests: the certified `oidc-provider` package (installed into
// .cache/node by scripts/install-deps) with one client and the accounts of a JSON file.
// Started by tests/support/oidc_provider.py; configured by the environment:
//   OIDC_MODULES   the node_modules directory holding oidc-provider (and its jose)
//   OIDC_PORT      the loopback port to serve on (the issuer is http://127.0.0.1:PORT)
//   OIDC_CLIENT    JSON {client_id, client_secret}
//   OIDC_ACCOUNTS  a JSON file: {login: {preferred_username, groups, ..., trick}}
// Sign-in is the package's development form ("login" and any password), consent is given
// without asking. An account's `trick` makes the token endpoint answer with a forged ID token:
// "other-issuer" (signed with this provider's own key, naming another issuer) or "other-key"
// (naming this issuer, signed with a key the provider never published, under its key id);
// "hold" shows the redirect back to the gateway as a link instead of following it;
// "userinfo-only" leaves the name and the groups out of the ID token (the userinfo endpoint has them).
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const modules = process.env.OIDC_MODULES;
const load = (path) => import(pathToFileURL(`${modules}/${path}`).href);
const { default: Provider, interactionPolicy } = await load('oidc-provider/lib/index.js');
const jose = await load('jose/dist/webapi/index.js');

const port = Number(process.env.OIDC_PORT);
const issuer = `http://127.0.0.1:${port}`;
const client = JSON.parse(process.env.OIDC_CLIENT);
const accounts = JSON.parse(readFileSync(process.env.OIDC_ACCOUNTS, 'utf8'));
const KID = 'provider-key-1';

async function signingKey() {
  const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
  return privateKey;
}
const ownKey = await signingKey();
const foreignKey = await signingKey();
const ownJwk = { ...(await jose.exportJWK(ownKey)), kid: KID, use: 'sig', alg: 'RS256' };

// Consent is given without asking, native client or not (loadExistingGrant grants the scopes).
const interactions = interactionPolicy.base();
interactions.get('consent').checks.remove('native_client_prompt');

const provider = new Provider(issuer, {
  interactions: { policy: interactions },
  clients: [{
    client_id: client.client_id,
    client_secret: client.client_secret,
    application_type: 'native', // loopback redirect URIs on any port (RFC 8252), as each test gateway has its own
    redirect_uris: ['http://127.0.0.1/ui/oidc/callback'],
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  jwks: { keys: [ownJwk] },
  cookies: { keys: ['portus-gateway tests'] },
  pkce: { required: () => true },
  conformIdTokenClaims: false, // the claims of the granted scopes in the ID token itself
  claims: { openid: ['sub'], profile: ['preferred_username', 'name'], email: ['email', 'email_verified'], groups: ['groups'] },
  scopes: ['openid', 'profile', 'email', 'groups'],
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, id) {
    const account = accounts[id];
    if (account === undefined) return undefined;
    const { trick, ...claims } = account;
    return { accountId: id, claims: async () => ({ sub: id, ...claims }) };
  },
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid profile email groups');
    await grant.save();
    return grant;
  },
});

const escapeHtml = (text) => text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

provider.use(async (ctx, next) => {
  await next();
  const location = ctx.response.get('Location');
  if ([302, 303].includes(ctx.status) && location.includes('/ui/oidc/callback?')
      && accounts[ctx.oidc?.session?.accountId]?.trick === 'hold') {
    // The redirect back to the gateway as a link for the test to follow (or forge) itself.
    ctx.status = 200;
    ctx.remove('Location');
    ctx.type = 'html';
    ctx.body = `<!doctype html><title>held</title><a id="callback" href="${escapeHtml(location)}">back to the gateway</a>`;
  }
  if (ctx.method !== 'POST' || ctx.path !== '/token' || ctx.status !== 200 || typeof ctx.body?.id_token !== 'string') return;
  const claims = jose.decodeJwt(ctx.body.id_token);
  const trick = accounts[claims.sub]?.trick;
  if (trick === undefined) return;
  let forged = trick === 'other-issuer' ? { ...claims, iss: 'http://127.0.0.1:1/another-issuer' } : claims;
  if (trick === 'userinfo-only') {
    const { preferred_username: _name, groups: _groups, ...rest } = claims;
    forged = rest;
  }
  const key = trick === 'other-key' ? foreignKey : ownKey;
  ctx.body = { ...ctx.body, id_token: await new jose.SignJWT(forged).setProtectedHeader({ alg: 'RS256', kid: KID }).sign(key) };
});

provider.listen(port, '127.0.0.1', () => console.log(`oidc-provider listening on ${issuer}`));
