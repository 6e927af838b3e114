import { orderStoreContract } from './order-store.contract.test.ts';
import { memoryOrders } from './testing.ts';

orderStoreContract('memory', () => {
  const { store, outbox } = memoryOrders();
  return { store, eventTypes: async (orderId) => outbox.filter((e) => e.subject === orderId).map((e) => e.type) };
});
