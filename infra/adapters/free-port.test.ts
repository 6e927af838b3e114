import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import { freePort } from './free-port.ts';

describe('freePort', () => {
  it('gives bindable ports below the ephemeral range, never one that is taken', async () => {
    const taken: net.Server[] = [];
    try {
      for (let i = 0; i < 20; i++) {
        const port = await freePort();
        assert.ok(port >= 20_000 && port < 32_000, `port ${port}`);
        const server = net.createServer();
        // Listening on it proves it was free; holding it makes later answers avoid it.
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(port, '127.0.0.1', resolve);
        });
        taken.push(server);
      }
      assert.equal(new Set(taken.map((s) => (s.address() as net.AddressInfo).port)).size, 20);
    } finally {
      await Promise.all(taken.map((s) => new Promise((r) => s.close(r))));
    }
  });
});
