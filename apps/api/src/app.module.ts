import { DynamicModule, Module } from '@nestjs/common';
import { HealthIndicatorService, TerminusModule } from '@nestjs/terminus';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { AuditLog } from '@airlock/audit';
import {
  BundleExporter,
  BundleImporter,
  BundleStore,
  PromotionService,
  ReleaseService,
  StageCatalog,
  TokenService,
} from '@airlock/promotion';
import { SigstoreController } from './sigstore/sigstore.controller';
import { StagesController } from './stages/stages.controller';
import { PromotionsController } from './promotions/promotions.controller';
import { ReleasesController } from './promotions/releases.controller';
import { HealthController } from './health/health.controller';
import { AuditController } from './audit/audit.controller';
import { AuditKeys } from './audit/audit-keys';
import { BundlesController } from './bundles/bundles.controller';
import { Readiness } from './health/readiness';
import { MetricsController } from './metrics/metrics.controller';
import { METRICS } from './metrics/metrics.token';
import { buildMetrics } from './metrics/metrics';
import { DomainExceptionFilter } from './errors/domain-exception.filter';
import { TokenGuard } from './auth/token.guard';
import { WhoamiController } from './auth/whoami.controller';
import { RATE_LIMIT_PER_WINDOW, RateLimitGuard } from './auth/rate-limit.guard';
import { ApiRuntime } from './api-runtime';

/** The HTTP application around a built runtime. */
@Module({})
export class ApiModule {
  static forRuntime(rt: ApiRuntime): DynamicModule {
    return {
      module: ApiModule,
      imports: [TerminusModule.forRoot({ logger: false })],
      controllers: [
        MetricsController,
        SigstoreController,
        StagesController,
        PromotionsController,
        ReleasesController,
        AuditController,
        BundlesController,
        HealthController,
        WhoamiController,
      ],
      providers: [
        { provide: StageCatalog, useValue: rt.catalog },
        { provide: PromotionService, useValue: rt.service },
        { provide: ReleaseService, useValue: rt.releases },
        { provide: TokenService, useValue: rt.tokens },
        { provide: AuditLog, useValue: rt.audit },
        { provide: AuditKeys, useValue: rt.auditKeys },
        { provide: BundleExporter, useValue: rt.exporter },
        { provide: BundleImporter, useValue: rt.importer },
        { provide: BundleStore, useValue: rt.bundles },
        { provide: APP_FILTER, useClass: DomainExceptionFilter },
        { provide: Readiness, useFactory: (h: HealthIndicatorService) => new Readiness(rt, h), inject: [HealthIndicatorService] },
        { provide: METRICS, useValue: buildMetrics(rt) },
        { provide: APP_GUARD, useClass: TokenGuard },
        { provide: RATE_LIMIT_PER_WINDOW, useValue: rt.loaded.config.server.rateLimitPerMinute },
        { provide: APP_GUARD, useClass: RateLimitGuard },
      ],
    };
  }
}
