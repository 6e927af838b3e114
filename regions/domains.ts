/**
 * The domains a region runs. Adding a domain: its own folders, and one line here.
 */
import { commerceModule } from './commerce/module.ts';
import type { DomainModule } from './host/domain-module.ts';
import { iotModule } from './iot/module.ts';

export const DOMAINS: readonly DomainModule<unknown>[] = [
  commerceModule as DomainModule<unknown>,
  iotModule as DomainModule<unknown>,
];
