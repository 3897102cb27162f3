import type { LoadedConfig } from '@airlock/common/config';
import { AuditLog } from '@airlock/audit';
import { Db, migrate, openDatabase } from '@airlock/database';
import { Registries } from '@airlock/oci';
import { StageCatalog } from './stage-catalog';
import { PromotionQueue } from './promotion-queue';
import { PromotionService } from './promotion.service';
import { BundleExporter } from './bundle-export';
import { BundleImporter } from './bundle-import';
import { BundleStore } from './bundle-store';
import { NoQueue } from './no-queue';

/** What every process that owns the database is made of. */
export interface AirlockCore {
  loaded: LoadedConfig;
  catalog: StageCatalog;
  db: Db;
  audit: AuditLog;
  registries: Registries;
  service: PromotionService;
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
  const service = new PromotionService(db, audit, catalog, registries, queue);
  return {
    loaded,
    catalog,
    db,
    audit,
    registries,
    service,
    exporter: new BundleExporter(db, audit, catalog, registries, service, queue),
    importer: new BundleImporter(db, audit, catalog, registries, service),
    bundles: new BundleStore(db),
    async close() {
      await registries.close();
      db.close();
    },
  };
}
