import { createInterface } from 'node:readline';
import { Command, CommandRunner, Option } from 'nest-commander';
import { AirlockError } from '@airlock/common';
import { ApiClient } from './api-client';
import type { Schemas } from './api-client';
import { normalizeServerUrl, saveContext } from './server-context';

/** The token to save: --token, else AIRLOCK_TOKEN, else one line of standard input (asked for on a terminal). */
async function tokenInput(flag?: string): Promise<string> {
  if (flag) return flag.trim();
  if (process.env.AIRLOCK_TOKEN) return process.env.AIRLOCK_TOKEN.trim();
  if (process.stdin.isTTY) process.stderr.write('token: ');
  const rl = createInterface({ input: process.stdin, terminal: false });
  for await (const line of rl) {
    rl.close();
    return line.trim();
  }
  return '';
}

@Command({
  name: 'login',
  arguments: '<url>',
  description: 'Check a token against a running airlock and save both for the client commands (mode 0600)',
})
export class LoginCommand extends CommandRunner {
  async run([raw]: string[], o: { token?: string }): Promise<void> {
    const url = normalizeServerUrl(raw);
    const token = await tokenInput(o.token);
    if (!token) throw new AirlockError('INVALID_ARGUMENT', 'no token given: pass --token, set AIRLOCK_TOKEN, or type it on standard input');
    const me = await new ApiClient({ url, token, from: 'airlock login' }).json<Schemas['Whoami']>('GET', '/api/v1/whoami');
    const file = saveContext({ url, token, user: me.user });
    process.stdout.write(`logged in to ${url} as ${me.user} (${me.roles.join(', ')}); saved in ${file}\n`);
  }
  @Option({ flags: '--token <token>', description: 'the API token (default: $AIRLOCK_TOKEN, else read from standard input)' })
  parseToken(v: string): string {
    return v;
  }
}
