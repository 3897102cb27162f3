import type { LoadedConfig } from '@airlock/common/config';
import { AuditLog } from '@airlock/audit';
import { Db, GroupCommit, migrate, openDatabase } from '@airlock/database';
import { Registries } from '@airlock/oci';
import { StageCatalog } from './stage-catalog';
import { PromotionQueue } from './promotion-queue';
import { PromotionService } from './promotion.service';
import { ReleaseService } from './release.service';
import { BundleExporter } from './bundle-export';
import { BundleImporter } from './bundle-import';
import { BundleStore } from './bundle-store';
import { NoQueue } from './no-queue';

/** What every process that owns the database is made of. */
export interface AirlockCore {
  loaded: LoadedConfig;
  catalog: StageCatalog;
  db: Db;
  /** Writes committed together, durable before anyone hears of them: answers to requests and worker reports (group-commit.ts). */
  commits: GroupCommit;
  audit: AuditLog;
  registries: Registries;
  service: PromotionService;
  releases: ReleaseService;
  exporter: BundleExporter;
  importer: BundleImporter;
  bundles: BundleStore;
  /** Closes the registries' connections and the database. */
  close(): Promise<void>;
}

/**
 * The one composition root: the stages (keys read), the database (migrated),
 * the audit log, the registries, and the use cases over them. The API adds
 * the queue's listener and its timers; the CLI's bundle commands use it with
 * no queue (they never enqueue).
 */
export async function openCore(loaded: LoadedConfig, queue: PromotionQueue = new NoQueue()): Promise<AirlockCore> {
  const catalog = await StageCatalog.create(loaded);
  const db = openDatabase(loaded.resolvePath(loaded.config.database));
  migrate(db);
  const audit = new AuditLog(db);
  const registries = new Registries(catalog.registryOptions());
  // at most one commit per 20 ms: reports arrive in bursts and streams, and answers wait for their commit's fsync anyway;
  // a backlog commits in slices of 4 ms of writes, with the requests that arrived meanwhile answered between them
  const commits = new GroupCommit(db, () => undefined, 256, 20, 4);
  const service = new PromotionService(db, commits, audit, catalog, registries, queue);
  return {
    loaded,
    catalog,
    db,
    commits,
    audit,
    registries,
    service,
    releases: new ReleaseService(db, commits, audit, service),
    exporter: new BundleExporter(db, audit, catalog, registries, service, queue),
    importer: new BundleImporter(db, audit, catalog, registries, service),
    bundles: new BundleStore(db),
    async close() {
      await registries.close();
      commits.flush();
      await commits.settled();
      db.close();
    },
  };
}
