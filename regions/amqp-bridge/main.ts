/**
 * `node regions/amqp-bridge/main.ts east|west` — the AMQP inbound bridge as a process of its own
 * (set MERIDIAN_<REGION>_PARTNERS_AMQP_BRIDGE=external so region hosts do not run one). Run as
 * many as wanted: they share each partner's queue; a killed one's unacked messages go to the others.
 */
import { ConfigError } from '../../infra/config/endpoints.ts';
import { openPartnersProcess, stopOnSignals } from '../partners/process.ts';

try {
  const p = await openPartnersProcess('amqp-bridge');
  const bridge = p.runtime.amqpBridge;
  await bridge.start();
  console.log(`amqp-bridge ${p.region}: started as ${p.name} (exchange ${p.runtime.topology.exchange})`);
  stopOnSignals(`amqp-bridge ${p.region}`, async () => {
    await bridge.stop();
    await p.close();
  });
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`amqp-bridge: invalid configuration — ${err.message}`);
    process.exit(78);
  }
  throw err;
}
