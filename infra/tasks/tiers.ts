/**
 * Test tiers, read from file names:
 *   x.test.ts            unit: needs no service
 *   x.int.test.ts        integration: talks to the real local stack
 *   x.lifecycle.test.ts  stops and starts the stack itself
 */
export type TestTier = 'unit' | 'integration' | 'lifecycle';

/** The tier a test file belongs to, from its name. */
export function tierOf(file: string): TestTier {
  if (file.endsWith('.lifecycle.test.ts')) return 'lifecycle';
  if (file.endsWith('.int.test.ts')) return 'integration';
  return 'unit';
}
