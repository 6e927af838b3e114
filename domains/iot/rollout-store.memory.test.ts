import { rolloutStoreContract } from './rollout-store.contract.test.ts';
import { memoryRollouts } from './testing.ts';

rolloutStoreContract('memory', () => {
  const { store, outbox } = memoryRollouts();
  return { store, eventTypes: async (subject) => outbox.filter((e) => e.subject === subject).map((e) => e.type) };
});
