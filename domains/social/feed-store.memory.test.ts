/** The FeedStore contract against the in-memory feeds the unit tests use. */
import { feedStoreContract } from './feed-store.contract.test.ts';
import { memoryFeedStore } from './testing.ts';

const store = memoryFeedStore(20);
feedStoreContract('memory', () => ({ store, cap: 20 }));
