// oauth2-mock-server configured for the client-credentials benchmark: HTTPS, an RS256 key,
// one worker per core (node:cluster). It issues a JWT to any client (it checks no secret).
// Usage: node mock_server.mjs <port> <key.pem> <cert.pem>
import cluster from 'node:cluster';
import { availableParallelism } from 'node:os';
import { OAuth2Server } from 'oauth2-mock-server';

const [port, keyFile, certFile] = process.argv.slice(2);

if (cluster.isPrimary) {
  const workers = availableParallelism();
  let ready = 0;
  for (let i = 0; i < workers; i += 1) {
    cluster.fork().on('message', (m) => {
      if (m === 'ready' && (ready += 1) === workers) console.log(`oauth2-mock-server ready on ${port}`);
    });
  }
} else {
  const server = new OAuth2Server(keyFile, certFile);
  await server.issuer.keys.generate('RS256');
  await server.start(Number(port), '127.0.0.1');
  process.send('ready');
}
