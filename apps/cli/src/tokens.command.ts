import { count } from './plural';
import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import { AirlockError } from '@airlock/common';
import type { TokenService } from '@airlock/promotion';
import { lazy } from './lazy';
import { CommandGroup } from './command-group';

const ROLES = ['requester', 'approver', 'operator', 'auditor', 'admin'];
import { configPath, CONFIG_OPTION } from './config-path';

function tokenService(config?: string): { tokens: TokenService; close(): void } {
  const loaded = lazy.config().loadConfig(configPath(config));
  const { AuditLog } = lazy.audit();
  const { migrate, openDatabase } = lazy.database();
  const db = openDatabase(loaded.resolvePath(loaded.config.database));
  migrate(db);
  return { tokens: new (lazy.promotion().TokenService)(db, new AuditLog(db)), close: () => db.close() };
}

@SubCommand({ name: 'create', description: 'Create an API token (printed once; stored only as a hash)' })
export class TokensCreateCommand extends CommandRunner {
  async run(_p: string[], o: { user?: string; role?: string[]; config?: string }): Promise<void> {
    if (!o.user) throw new AirlockError('INVALID_ARGUMENT', '--user NAME is required');
    const { tokens, close } = tokenService(o.config);
    try {
      const t = tokens.create(o.user, o.role ?? [], `cli:${process.env.USER ?? 'unknown'}`);
      process.stdout.write(`${t.token}\n`);
      process.stderr.write(`token ${t.id} for ${o.user} (${(o.role ?? []).join(', ')}); it is shown only now\n`);
    } finally {
      close();
    }
  }
  @Option({ flags: '--user <name>', description: 'who the token is for' })
  parseUser(v: string): string {
    return v;
  }
  @Option({ flags: '--role <role>', description: `role (repeatable): ${ROLES.join(', ')}` })
  parseRole(v: string, prev: string[] = []): string[] {
    return [...prev, v];
  }
  @Option(CONFIG_OPTION)
  parseConfig(v: string): string {
    return v;
  }
}

@SubCommand({ name: 'revoke', arguments: '[id]', description: 'Revoke a token by id, or every token of --user' })
export class TokensRevokeCommand extends CommandRunner {
  async run([id]: string[], o: { user?: string; config?: string }): Promise<void> {
    const { tokens, close } = tokenService(o.config);
    try {
      const n = tokens.revoke({ id, user: o.user }, `cli:${process.env.USER ?? 'unknown'}`);
      process.stdout.write(`${count(n, 'token')} revoked\n`);
      if (n === 0) throw new AirlockError('INVALID_ARGUMENT', 'no active token matched');
    } finally {
      close();
    }
  }
  @Option({ flags: '--user <name>', description: 'revoke every token of this user' })
  parseUser(v: string): string {
    return v;
  }
  @Option(CONFIG_OPTION)
  parseConfig(v: string): string {
    return v;
  }
}

@SubCommand({ name: 'list', description: 'List tokens (ids, users, roles; never secrets)' })
export class TokensListCommand extends CommandRunner {
  async run(_p: string[], o: { config?: string }): Promise<void> {
    const { tokens, close } = tokenService(o.config);
    try {
      for (const t of tokens.list())
        process.stdout.write(`${t.id} ${t.user} ${t.roles.join(',')} ${t.createdAt}${t.revokedAt ? ` revoked ${t.revokedAt}` : ''}\n`);
    } finally {
      close();
    }
  }
  @Option(CONFIG_OPTION)
  parseConfig(v: string): string {
    return v;
  }
}

@Command({
  name: 'tokens',
  description: 'API tokens: create, revoke, list',
  subCommands: [TokensCreateCommand, TokensRevokeCommand, TokensListCommand],
})
export class TokensCommand extends CommandGroup {}
