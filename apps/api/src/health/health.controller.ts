import { Controller, Get, Res, ServiceUnavailableException } from '@nestjs/common';
import type { Response } from 'express';
import { HealthCheck, HealthCheckService, HealthIndicatorResult } from '@nestjs/terminus';
import { Public } from '../auth/roles.decorator';
import { Readiness } from './readiness';

/** Liveness (the process answers) and readiness (Redis, database, registries, keys). */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly ready: Readiness,
  ) {}

  @Get()
  @Public()
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  /** 200 when everything answers; 503 with the details of what does not. */
  @Get('ready')
  @Public()
  @HealthCheck()
  async readiness(@Res() res: Response): Promise<void> {
    try {
      res
        .status(200)
        .json(
          await this.health.check([
            () => this.ready.redis(),
            () => this.ready.database(),
            () => this.ready.keys(),
            async () => Object.assign({}, ...(await this.ready.registries())) as HealthIndicatorResult,
          ]),
        );
    } catch (e) {
      if (!(e instanceof ServiceUnavailableException)) throw e;
      res.status(503).json(e.getResponse());
    }
  }
}
