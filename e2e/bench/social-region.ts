/**
 * `node e2e/bench/social-region.ts east|west <key file>` — one region for the social benchmark,
 * as its own process (so the benchmark's client work does not share its event loop): every
 * domain, on a PostgreSQL database of its own, joining only the social feed projector's group
 * (see e2e/support/social-region.ts), with a development issuer whose key file the benchmark's
 * other processes share. Prints `READY <gateway port> <hub port>` once its projector has caught
 * up; closing its stdin stops it and drops its database. (Not SIGTERM: Apollo Server's own
 * termination-signal handlers stop the GraphQL servers and re-raise the signal, which ends the
 * process before a handler of ours could finish.)
 */
import { parseRegion } from '../../infra/config/endpoints.ts';
import { east } from '../../regions/east.ts';
import { identityFromEnv } from '../../regions/identity/identity.ts';
import { west } from '../../regions/west.ts';
import { projectorCaughtUp, regionDatabase, startSocialRegion } from '../support/social-region.ts';

const profile = { east, west }[parseRegion(process.argv[2])];
const keyFile = process.argv[3] as string;
const identity = identityFromEnv({}, { keyFile, gatewayUrl: 'http://127.0.0.1' });
const db = await regionDatabase(profile.region, 'social_bench');
const region = await startSocialRegion(profile, identity, db);
await projectorCaughtUp(region);
console.log(`READY ${region.gatewayPort} ${region.hubPort}`);
process.stdin.resume();
process.stdin.once('end', async () => {
  await region.stop();
  await db.drop();
  process.exit(0);
});
