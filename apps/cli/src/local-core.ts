import type { AirlockCore } from '@airlock/promotion';
import { lazy } from './lazy';
import { configPath } from './config-path';

/** What a bundle command needs of this side: the core over its database, stages and registries, with no queue. */
export async function localCore(config?: string): Promise<AirlockCore> {
  return lazy.promotion().openCore(lazy.config().loadConfig(configPath(config)));
}
