import { CommandRunner } from 'nest-commander';
import { AirlockError } from '@airlock/common';

/**
 * A command that only groups others (`airlock bundle`, `airlock keys`, ...):
 * alone it prints its help; followed by a word that is none of its commands
 * it fails as a usage error (exit 2) naming the ones it has, instead of
 * printing its help and exiting 0 as if something had run.
 */
export abstract class CommandGroup extends CommandRunner {
  async run(params: string[]): Promise<void> {
    if (!params.length) return void this.command.outputHelp();
    const name = this.command.name();
    const known = this.command.commands.map((c) => c.name());
    throw new AirlockError(
      'INVALID_ARGUMENT',
      `airlock ${name} has no command ${JSON.stringify(params[0])}: one of ${known.join(', ')} (airlock ${name} --help)`,
    );
  }
}
