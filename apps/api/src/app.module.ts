import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { StageCatalog } from '@airlock/promotion';
import { SigstoreController } from './sigstore/sigstore.controller';
import { StagesController } from './stages/stages.controller';
import { DomainExceptionFilter } from './errors/domain-exception.filter';

/** The HTTP application, built around an already-loaded stage catalog. */
@Module({})
export class ApiModule {
  static forCatalog(catalog: StageCatalog): DynamicModule {
    return {
      module: ApiModule,
      controllers: [SigstoreController, StagesController],
      providers: [{ provide: StageCatalog, useValue: catalog }, { provide: APP_FILTER, useClass: DomainExceptionFilter }],
    };
  }
}
