/**
 * A free local TCP port for a process about to be started, chosen outside the kernel's ephemeral
 * range (32768–60999 on Linux). Asking the kernel for port 0 hands out an ephemeral port, and
 * between releasing it and the child binding it, any outgoing connection of any process may take
 * it as its local port (a region once failed to start on EADDRINUSE so). Ports below the range
 * are never given to outgoing connections; the stack's fixed ports (41xxx, 42xxx, 45xxx, 80xx)
 * are outside the band tried here.
 */
import net from 'node:net';

const LOW = 20_000;
const HIGH = 32_000;

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A port in 20000–31999 that nothing listens on now, tried at random. */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW));
    if (await canBind(port)) return port;
  }
  throw new Error(`no free port in ${LOW}–${HIGH - 1} after 200 tries`);
}
