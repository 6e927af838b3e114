import { memoryStores } from './testing.ts';
import { webhookStoresContract } from './webhook-stores.contract.test.ts';

webhookStoresContract('memory', async () => {
  const s = memoryStores();
  return {
    endpoints: s.endpointStore,
    deliveries: s.deliveryStore,
    eventTypes: async (subject) => s.outbox.filter((e) => e.subject === subject).map((e) => e.type),
  };
});
