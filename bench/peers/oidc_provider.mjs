// oidc-provider (the certified Node OpenID provider) configured for the client-credentials
// benchmark: one confidential client (client_secret_post), JWT access tokens signed RS256 for one
// resource server, over HTTPS, one worker per core (node:cluster) so it uses the cores Cerulean
// uses. Usage: node oidc_provider.mjs <port> <key.pem> <cert.pem> <client_id> <client_secret>
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { createServer } from 'node:https';
import { readFileSync } from 'node:fs';
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const [port, keyFile, certFile, clientId, clientSecret] = process.argv.slice(2);

if (cluster.isPrimary) {
  // One signing key for every worker, as one deployment would have.
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench', use: 'sig', alg: 'RS256' };
  const workers = availableParallelism();
  let ready = 0;
  for (let i = 0; i < workers; i += 1) {
    cluster.fork({ BENCH_JWK: JSON.stringify(jwk) }).on('message', (m) => {
      if (m === 'ready' && (ready += 1) === workers) console.log(`oidc-provider ready on ${port}`);
    });
  }
} else {
  const resource = 'urn:cerulean:bench';
  const provider = new Provider(`https://127.0.0.1:${port}`, {
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_post',
    }],
    jwks: { keys: [JSON.parse(process.env.BENCH_JWK)] },
    features: {
      clientCredentials: { enabled: true },
      devInteractions: { enabled: false },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => resource,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: 'api.read',
          accessTokenFormat: 'jwt',
          accessTokenTTL: 3600,
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
  });
  provider.proxy = false;
  const server = createServer({ key: readFileSync(keyFile), cert: readFileSync(certFile) }, provider.callback());
  server.keepAliveTimeout = 60_000;
  server.listen(Number(port), '127.0.0.1', () => process.send('ready'));
}
