/** Region east: ports 41xxx; mirrors west's topics as `west.<topic>`. */
import type { RegionProfile } from './config.ts';

export const east: RegionProfile = { region: 'east', peer: 'west', displayName: 'US East (local)' };
