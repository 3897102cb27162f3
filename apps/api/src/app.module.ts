import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { AuditLog } from '@airlock/audit';
import { BundleExporter, PromotionService, StageCatalog, TokenService } from '@airlock/promotion';
import { SigstoreController } from './sigstore/sigstore.controller';
import { StagesController } from './stages/stages.controller';
import { PromotionsController } from './promotions/promotions.controller';
import { HealthController } from './health/health.controller';
import { AuditController } from './audit/audit.controller';
import { AuditKeys } from './audit/audit-keys';
import { BundlesController } from './bundles/bundles.controller';
import { DomainExceptionFilter } from './errors/domain-exception.filter';
import { TokenGuard } from './auth/token.guard';
import { RateLimitGuard } from './auth/rate-limit.guard';
import { ApiRuntime } from './api-runtime';

/** The HTTP application around a built runtime. */
@Module({})
export class ApiModule {
  static forRuntime(rt: ApiRuntime): DynamicModule {
    return {
      module: ApiModule,
      controllers: [SigstoreController, StagesController, PromotionsController, AuditController, BundlesController, HealthController],
      providers: [
        { provide: StageCatalog, useValue: rt.catalog },
        { provide: PromotionService, useValue: rt.service },
        { provide: TokenService, useValue: rt.tokens },
        { provide: AuditLog, useValue: rt.audit },
        { provide: AuditKeys, useValue: rt.auditKeys },
        { provide: BundleExporter, useValue: rt.exporter },
        { provide: APP_FILTER, useClass: DomainExceptionFilter },
        { provide: APP_GUARD, useClass: TokenGuard },
        { provide: APP_GUARD, useClass: RateLimitGuard },
      ],
    };
  }
}
