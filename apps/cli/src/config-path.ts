import { existsSync } from 'node:fs';
import { AirlockError } from '@airlock/common';

/** Where `npm start`'s sandbox keeps its low side's configuration, relative to the folder it was started in. */
export const SANDBOX_CONFIG = '.airlock/low/airlock.yaml';

/**
 * The configuration file a command uses: --config, else $AIRLOCK_CONFIG,
 * else ./airlock.yaml, else the sandbox's (so commands run in the folder
 * `npm start` ran in need no flag). None found: a usage error naming where
 * it looked and how to point at one.
 */
export function configPath(flag?: string): string {
  if (flag) return flag;
  if (process.env.AIRLOCK_CONFIG) return process.env.AIRLOCK_CONFIG;
  for (const candidate of ['./airlock.yaml', `./${SANDBOX_CONFIG}`]) if (existsSync(candidate)) return candidate;
  throw new AirlockError(
    'CONFIG_INVALID',
    `no configuration: looked for --config, $AIRLOCK_CONFIG, ./airlock.yaml and the sandbox's ./${SANDBOX_CONFIG} (in ${process.cwd()}); pass --config FILE or set AIRLOCK_CONFIG, or run npm start here for a sandbox`,
  );
}

/** How --config is described in every command's help. */
export const CONFIG_HELP = `configuration file (default $AIRLOCK_CONFIG, ./airlock.yaml, or the sandbox's ./${SANDBOX_CONFIG})`;

/** The --config option, as every command that reads a configuration declares it. */
export const CONFIG_OPTION = { flags: '--config <file>', description: CONFIG_HELP };
