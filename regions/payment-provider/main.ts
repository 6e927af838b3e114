/**
 * `node regions/payment-provider/main.ts [port]` — runs the simulated legacy payment provider (default 41080, the
 * east port; west uses 42080). Composition root: the port is validated once, here.
 */
import { startPaymentProvider } from './server.ts';

const DEFAULT_PORT = 41080;

function parsePort(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_PORT;
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port > 65535) {
    console.error(`payment-provider: port must be an integer 0-65535, got "${raw}"`);
    process.exit(64);
  }
  return port;
}

const provider = await startPaymentProvider({ port: parsePort(process.argv[2]) });
console.log(`payment-provider: SOAP ${provider.url} (WSDL ${provider.wsdlUrl}; admin /admin/behaviour, /admin/stats)`);
const shutdown = async (signal: string) => {
  console.log(`payment-provider: ${signal}, stopping`);
  await provider.stop();
  process.exit(0);
};
process.once('SIGINT', () => void shutdown('SIGINT'));
process.once('SIGTERM', () => void shutdown('SIGTERM'));
