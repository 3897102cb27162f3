import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import { AirlockError } from '@airlock/common';
import type { Db } from '@airlock/database';
import type { StageCatalog } from '@airlock/promotion';
import type { Key } from 'openpgp';
import { lazy } from './lazy';
import { CommandGroup } from './command-group';
import { configPath, CONFIG_OPTION } from './config-path';
import { EXIT } from './exit-codes';
import { AuditEventsCommand } from './client/audit-events.command';

interface DbFlags {
  db?: string;
  config?: string;
  key?: string[];
}

async function keysFrom(files: string[] = []): Promise<Key[]> {
  const out: Key[] = [];
  for (const f of files) out.push(...(await lazy.signing().readPublicKeys(readFileSync(f))));
  return out;
}

/** The database (and audit keys) named by --db/--key, or by the configuration. */
async function openAudit(o: DbFlags, readonly: boolean): Promise<{ db: Db; keys: Key[]; catalog?: StageCatalog }> {
  const { openDatabase, migrate } = lazy.database();
  const { readPublicKeys } = lazy.signing();
  if (o.db) return { db: openDatabase(o.db, { readonly }), keys: await keysFrom(o.key) };
  const loaded = lazy.config().loadConfig(configPath(o.config));
  const catalog = await lazy.promotion().StageCatalog.create(loaded);
  const db = openDatabase(loaded.resolvePath(loaded.config.database));
  if (!readonly) migrate(db);
  const stage = catalog.auditStage();
  return {
    db,
    keys: [...(stage.publicKeyArmored ? await readPublicKeys(stage.publicKeyArmored) : []), ...(await keysFrom(o.key))],
    catalog,
  };
}

abstract class DbCommand extends CommandRunner {
  @Option({ flags: '--db <file>', description: 'SQLite file to read (instead of the one in the configuration)' })
  parseDb(v: string): string {
    return v;
  }
  @Option(CONFIG_OPTION)
  parseConfig(v: string): string {
    return v;
  }
  @Option({ flags: '--key <pub>', description: 'audit public key for checkpoints (repeatable; default: the configured audit stage key)' })
  parseKey(v: string, prev: string[] = []): string[] {
    return [...prev, v];
  }
}

@SubCommand({ name: 'verify', description: 'Walk the whole audit chain and its signed checkpoints; name the first bad event' })
export class AuditVerifyCommand extends DbCommand {
  async run(_p: string[], o: DbFlags): Promise<void> {
    const { db, keys } = await openAudit(o, true);
    try {
      const r = await lazy.audit().verifyAudit(db, keys);
      for (const c of r.checkpoints) process.stdout.write(`checkpoint ${c.id} at ${c.size}: ${c.ok ? 'ok' : `BAD: ${c.reason}`}\n`);
      if (r.chain.ok) process.stdout.write(`chain ok: ${r.chain.size} events, head ${r.chain.head}\n`);
      else process.stdout.write(`chain BROKEN at event ${r.chain.firstBadSeq}: ${r.chain.reason}\n`);
      if (!r.ok) {
        process.stderr.write(
          `airlock: AUDIT_CHAIN_BROKEN: ${r.chain.ok ? 'a checkpoint does not match the chain' : `first bad event ${r.chain.firstBadSeq}`}\n`,
        );
        process.exitCode = EXIT.integrity;
      }
    } finally {
      db.close();
    }
  }
}

@SubCommand({ name: 'export', description: 'Export audit events (JSON lines keep everything needed to re-check the chain offline)' })
export class AuditExportCommand extends DbCommand {
  async run(_p: string[], o: DbFlags & { format?: string; since?: string; until?: string; out?: string }): Promise<void> {
    const format = (o.format ?? 'jsonl') as 'jsonl' | 'csv';
    if (!['jsonl', 'csv'].includes(format)) throw new AirlockError('INVALID_ARGUMENT', '--format must be jsonl or csv');
    const { db } = await openAudit(o, true);
    const out = o.out ? createWriteStream(o.out) : process.stdout;
    try {
      for await (const chunk of lazy.audit().exportEvents(db, { since: o.since, until: o.until }, format)) {
        if (!out.write(chunk)) await once(out, 'drain');
      }
      if (o.out)
        await new Promise<void>((r, j) => (out as ReturnType<typeof createWriteStream>).end((e?: Error | null) => (e ? j(e) : r())));
    } finally {
      db.close();
    }
  }
  @Option({ flags: '--format <format>', description: 'jsonl (default) or csv' })
  parseFormat(v: string): string {
    return v;
  }
  @Option({ flags: '--since <time>', description: 'ISO 8601 time: events at or after' })
  parseSince(v: string): string {
    return v;
  }
  @Option({ flags: '--until <time>', description: 'ISO 8601 time: events before' })
  parseUntil(v: string): string {
    return v;
  }
  @Option({ flags: '--out <file>', description: 'write to FILE instead of standard output' })
  parseOut(v: string): string {
    return v;
  }
}

@SubCommand({
  name: 'checkpoint',
  description: 'Sign a checkpoint of the chain now and write its signature file (check it with gpg --decrypt)',
})
export class AuditCheckpointCommand extends DbCommand {
  async run(_p: string[], o: DbFlags & { out?: string }): Promise<void> {
    const { db, catalog } = await openAudit({ config: o.config }, false);
    try {
      const key = await (catalog as StageCatalog).signingKey((catalog as StageCatalog).auditStage().name);
      const { createCheckpoint, AuditLog } = lazy.audit();
      const c = await createCheckpoint(db, key);
      new AuditLog(db).append({
        actor: `cli:${process.env.USER ?? 'unknown'}`,
        role: 'admin',
        action: 'audit.checkpoint',
        details: { id: c.id, size: c.size, head: c.head, keyFingerprint: c.keyFingerprint },
      });
      if (o.out) {
        const w = createWriteStream(o.out);
        w.end(c.signature);
        await once(w, 'finish');
      }
      process.stdout.write(
        `checkpoint ${c.id}: ${c.size} events, head ${c.head}, signed by ${c.keyFingerprint}${o.out ? `, written to ${o.out}` : ''}\n`,
      );
    } finally {
      db.close();
    }
  }
  @Option({ flags: '--out <file>', description: 'write the signed checkpoint to FILE' })
  parseOut(v: string): string {
    return v;
  }
}

/**
 * Lines of a file, read only once iteration starts: a readline interface
 * created early drops the lines it emits before anyone iterates (here, while
 * the checkpoint signature is being verified).
 */
async function* linesOf(file: string): AsyncGenerator<string> {
  yield* createInterface({ input: createReadStream(file), crlfDelay: Infinity });
}

@SubCommand({
  name: 'verify-export',
  arguments: '<file>',
  description: 'Offline: prove that an export (JSON lines) matches a signed checkpoint, without the service',
})
export class AuditVerifyExportCommand extends CommandRunner {
  async run([file]: string[], o: { checkpoint?: string; key?: string[] }): Promise<void> {
    if (!o.checkpoint || !o.key?.length) throw new AirlockError('INVALID_ARGUMENT', '--checkpoint FILE and --key PUB are required');
    const keys = await keysFrom(o.key);
    const r = await lazy.audit().verifyExport(linesOf(file), readFileSync(o.checkpoint), keys);
    if (r.ok) process.stdout.write(`export ok: ${r.size} events; the first ${r.checkpointSize} match the signed checkpoint\n`);
    else {
      process.stdout.write(`export BAD: ${r.reason}\n`);
      process.stderr.write(`airlock: AUDIT_CHAIN_BROKEN: ${r.reason}\n`);
      process.exitCode = EXIT.integrity;
    }
  }
  @Option({ flags: '--checkpoint <file>', description: 'signed checkpoint file' })
  parseCheckpoint(v: string): string {
    return v;
  }
  @Option({ flags: '--key <pub>', description: 'audit public key (repeatable)' })
  parseKey(v: string, prev: string[] = []): string[] {
    return [...prev, v];
  }
}

@Command({
  name: 'audit',
  description: 'Audit trail: events (over HTTP), verify, export, checkpoint, verify-export',
  subCommands: [AuditEventsCommand, AuditVerifyCommand, AuditExportCommand, AuditCheckpointCommand, AuditVerifyExportCommand],
})
export class AuditCommand extends CommandGroup {}
