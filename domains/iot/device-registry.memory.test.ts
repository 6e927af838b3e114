import { deviceRegistryContract } from './device-registry.contract.test.ts';
import { memoryRegistry } from './testing.ts';

deviceRegistryContract('memory', () => {
  const { registry, activity, replica, outbox } = memoryRegistry();
  return {
    registry,
    activity,
    replica,
    eventTypes: async (mqttId) => outbox.filter((e) => e.subject === mqttId).map((e) => e.type),
    hashOf: async (tenant, id) => registry.hashOf(tenant, id),
  };
});
