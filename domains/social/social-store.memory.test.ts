/** The SocialStore contract against the in-memory store the unit tests use. */
import { socialStoreContract } from './social-store.contract.test.ts';
import { memorySocialStore } from './testing.ts';

const store = memorySocialStore();
socialStoreContract('memory', () => ({
  store,
  eventTypes: async (tenant, subject) =>
    store.events.filter((e) => e.tenant === tenant && e.subject === subject).map((e) => e.type),
}));
