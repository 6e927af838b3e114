/**
 * The domains a region runs. Adding a domain: its own folders, and one line here.
 */
import { chatModule } from './chat/module.ts';
import { commerceModule } from './commerce/module.ts';
import type { DomainModule } from './host/domain-module.ts';
import { iotModule } from './iot/module.ts';
import { partnersModule } from './partners/module.ts';
import { socialModule } from './social/module.ts';

export const DOMAINS: readonly DomainModule<unknown>[] = [
  commerceModule as DomainModule<unknown>,
  chatModule as DomainModule<unknown>,
  iotModule as DomainModule<unknown>,
  socialModule as DomainModule<unknown>,
  partnersModule as DomainModule<unknown>,
];
