import { sequenceGateContract } from './sequence-gate.contract.test.ts';
import { memoryGate } from './testing.ts';

sequenceGateContract('reference', (now) => memoryGate(now));
