import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import { AirlockError } from '@airlock/common';
import { configReference, loadConfig } from '@airlock/common/config';
import { configPath } from './config-path';
import { lazy } from './lazy';
import { CommandGroup } from './command-group';
import { count } from './plural';

@SubCommand({ name: 'check', description: 'Validate a configuration file and read every key and secret it names (each private key unlocked once); name each field and what is wrong' })
export class ConfigCheckCommand extends CommandRunner {
  async run(_p: string[], o: { config?: string }): Promise<void> {
    const l = loadConfig(configPath(o.config));
    const problems = await lazy.promotion().checkKeysAndSecrets(l);
    if (problems.length) {
      for (const p of problems) process.stderr.write(`${p.message} (${p.code})\n`);
      throw new AirlockError('CONFIG_INVALID', `${l.path}: ${count(problems.length, 'problem')} with keys and secrets (listed above)`, { problems });
    }
    process.stdout.write(`${l.path}: valid, keys and secrets read (${count(l.config.stages.length, 'stage')}, ${count(l.config.channels.length, 'channel')}, sha256 ${l.sha256})\n`);
  }
  @Option({ flags: '--config <file>', description: 'configuration file (default $AIRLOCK_CONFIG or ./airlock.yaml)' })
  parseConfig(v: string): string {
    return v;
  }
}

@SubCommand({ name: 'reference', description: 'Print the configuration reference (Markdown), generated from the schema' })
export class ConfigReferenceCommand extends CommandRunner {
  async run(): Promise<void> {
    process.stdout.write(configReference());
  }
}

@Command({ name: 'config', description: 'Configuration: check, reference', subCommands: [ConfigCheckCommand, ConfigReferenceCommand] })
export class ConfigCommand extends CommandGroup {}
