import 'reflect-metadata';
import { CommandFactory, CommandRunnerService } from 'nest-commander';
import type { Command as CommanderCommand, CommanderError } from 'commander';
import { CliModule } from './cli.module';
import { LOG_LEVELS } from '@airlock/common';
import { takeLogLevel } from './log-level-arg';
import { EXIT, reportFailure } from './exit-codes';

/** commander exits 1 on usage errors; our documented code is 2 (help and --version stay 0). */
function usageExit(err: Error): never {
  process.exit((err as CommanderError).exitCode === 0 ? EXIT.ok : EXIT.usage);
}

function overrideExits(cmd: CommanderCommand): void {
  cmd.exitOverride(usageExit);
  for (const sub of cmd.commands) overrideExits(sub);
}

/** The `airlock` command line. Errors end as one line and a documented exit code. */
export async function main(argv: string[] = process.argv): Promise<void> {
  let args: string[];
  try {
    args = takeLogLevel(argv);
  } catch (e) {
    return reportFailure(e);
  }
  const app = await CommandFactory.createWithoutRunning(CliModule, {
    logger: false,
    cliName: 'airlock',
    version: process.env.npm_package_version ?? '0.1.0',
    errorHandler: usageExit,
    serviceErrorHandler: reportFailure,
  });
  try {
    // nest-commander sets exitOverride on the root only; subcommands need it too.
    const runner = app.get(CommandRunnerService) as unknown as { commander: CommanderCommand };
    overrideExits(runner.commander);
    runner.commander.addHelpText(
      'after',
      `\nLogs go to standard error: one line per event on a terminal, JSON elsewhere (AIRLOCK_LOG_FORMAT=json|text chooses).\n--log-level ${LOG_LEVELS.join('|')} (or AIRLOCK_LOG_LEVEL), anywhere on the line; info by default.`,
    );
    process.argv = args;
    await CommandFactory.runApplication(app);
  } finally {
    await app.close();
  }
}

if (require.main === module) {
  main().catch(reportFailure);
}
