import 'reflect-metadata';
import { CommandFactory } from 'nest-commander';
import { CliModule } from './cli.module';
import { EXIT, errorLine, exitCodeFor } from './exit-codes';

/** The `airlock` command line. Errors end as one line and a documented exit code. */
export async function main(): Promise<void> {
  await CommandFactory.run(CliModule, {
    logger: false,
    cliName: 'airlock',
    version: process.env.npm_package_version ?? '0.1.0',
    errorHandler: (err: Error & { exitCode?: number; code?: string }) => {
      // commander: help and version exit 0; anything else is a usage error.
      process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage);
    },
    serviceErrorHandler: (err: Error) => {
      process.stderr.write(errorLine(err) + '\n');
      process.exitCode = exitCodeFor(err);
    },
  });
}

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(errorLine(e) + '\n');
    process.exitCode = exitCodeFor(e);
  });
}
