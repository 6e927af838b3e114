import { chatStoreContract } from './chat-store.contract.test.ts';
import { memoryChatStore } from './testing.ts';

chatStoreContract('memory', () => {
  const { store, outbox } = memoryChatStore();
  return { store, eventTypes: async (roomId) => outbox.filter((e) => e.subject === roomId).map((e) => e.type) };
});
