import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import { configPath, CONFIG_OPTION } from './config-path';
import { requireKeysAndSecrets } from './keys-and-secrets';
import { CommandGroup } from './command-group';
import { count } from './plural';
import { lazy } from './lazy';

@SubCommand({
  name: 'check',
  description:
    'Validate a configuration file and read every key and secret it names (each private key unlocked once); name each field and what is wrong',
})
export class ConfigCheckCommand extends CommandRunner {
  async run(_p: string[], o: { config?: string }): Promise<void> {
    const l = lazy.config().loadConfig(configPath(o.config));
    await requireKeysAndSecrets(l, '');
    process.stdout.write(
      `${l.path}: valid, keys and secrets read (${count(l.config.stages.length, 'stage')}, ${count(l.config.channels.length, 'channel')}, sha256 ${l.sha256})\n`,
    );
  }
  @Option(CONFIG_OPTION)
  parseConfig(v: string): string {
    return v;
  }
}

@SubCommand({ name: 'reference', description: 'Print the configuration reference (Markdown), generated from the schema' })
export class ConfigReferenceCommand extends CommandRunner {
  async run(): Promise<void> {
    process.stdout.write(lazy.config().configReference());
  }
}

@Command({ name: 'config', description: 'Configuration: check, reference', subCommands: [ConfigCheckCommand, ConfigReferenceCommand] })
export class ConfigCommand extends CommandGroup {}
