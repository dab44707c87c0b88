/**
 * A loopback port nothing listens on and nothing else can start listening on,
 * for "the service is down" tests.
 *
 * "Listen on 0, close, hand out the number" races: on a shared machine another
 * process may be given the same port before the test connects, and the test
 * then talks to a stranger (it once got a foreign server's 404 instead of
 * ECONNREFUSED). Here the port is the local end of a connection this process
 * keeps open: no socket listens on it, so a connection to it is refused, and
 * while the connection is open Linux refuses to bind any listener to that
 * address and port (EADDRINUSE: the connected socket does not set
 * SO_REUSEADDR, and bind(2)'s conflict check needs both sockets to set it) and
 * never picks it for a `listen(0)`. The connection lives until the test
 * process exits; its sockets are unref'd so they never keep it alive.
 */
import { connect, createServer, type Socket } from 'node:net';

/** The held connections (both ends), so nothing closes them before the process ends. */
const held: Socket[] = [];

/** A port on 127.0.0.1 that refuses connections for the rest of this test process. */
export async function closedPort(): Promise<number> {
  const server = createServer((accepted) => {
    accepted.unref();
    held.push(accepted);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  const client = connect(address.port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    client.once('connect', resolve);
    client.once('error', reject);
  });
  client.unref();
  held.push(client);
  // Stop listening; the accepted connection stays open (close's callback would
  // wait for it, so it is not awaited).
  server.close();
  server.unref();
  if (client.localPort === undefined) throw new Error('no local port');
  return client.localPort;
}
