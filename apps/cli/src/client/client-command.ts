import { CommandRunner, Option } from 'nest-commander';
import { ApiClient } from './api-client';
import { resolveContext } from './server-context';

/** Flags every client command takes. */
export interface ClientFlags {
  json?: boolean;
}

/**
 * A command that talks to a running airlock over HTTP (AIRLOCK_URL and
 * AIRLOCK_TOKEN, or the context `airlock login` saved), never to its
 * database: what it may do is what the token's roles allow.
 */
export abstract class ClientCommand extends CommandRunner {
  protected client(): ApiClient {
    return new ApiClient(resolveContext());
  }

  /** Prints `value` as JSON with --json, else the text `human` gives. */
  protected print(o: ClientFlags, value: unknown, human: () => string): void {
    process.stdout.write(o.json ? JSON.stringify(value, null, 2) + '\n' : human());
  }

  @Option({ flags: '--json', description: 'print JSON instead of text' })
  parseJson(): boolean {
    return true;
  }
}
