/** Region west: ports 42xxx; mirrors east's topics as `east.<topic>`. */
import type { RegionProfile } from './config.ts';

export const west: RegionProfile = { region: 'west', peer: 'east', displayName: 'US West (local)' };
