import { presenceContract } from './presence.contract.test.ts';
import { memoryPresence } from './testing.ts';

presenceContract('memory', () => memoryPresence({ now: Date.now }));
