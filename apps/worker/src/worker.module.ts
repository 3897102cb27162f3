import { DynamicModule, Module } from '@nestjs/common';
import { StageCatalog } from '@airlock/promotion/run';
import { PromotionWorkerService, WORKER_OPTIONS, WorkerOptions } from './promotion-worker.service';

/** The headless worker: no HTTP, no database. */
@Module({})
export class WorkerModule {
  static forCatalog(catalog: StageCatalog, opts: WorkerOptions): DynamicModule {
    return {
      module: WorkerModule,
      providers: [{ provide: StageCatalog, useValue: catalog }, { provide: WORKER_OPTIONS, useValue: opts }, PromotionWorkerService],
    };
  }
}
