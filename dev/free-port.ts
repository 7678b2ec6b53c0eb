import { createServer } from 'node:net';

/**
 * A port of a loopback address (127.0.0.1 unless told) nothing listens on at the time
 * of the call: listen on port 0, note
 * what the kernel picked, close. (Something else may take it before the caller binds
 * it; the servers started with it are all ours and started one at a time.)
 */
export async function freeLoopbackPort(host = '127.0.0.1'): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host }, () => resolve());
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('could not probe a free loopback port');
  return address.port;
}
