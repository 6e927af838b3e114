import { deviceAccessContract } from './device-access.contract.test.ts';
import { memoryAccess } from './testing.ts';

deviceAccessContract('memory', () => {
  const m = memoryAccess();
  return { access: m.access, login: async (id, pw) => m.login(id, pw) };
});
