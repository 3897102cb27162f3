import { Controller, Get, Res, ServiceUnavailableException } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
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
  async readiness(@Res() res: FastifyReply): Promise<void> {
    try {
      void res
        .code(200)
        .send(
          await this.health.check([
            () => this.ready.redis(),
            () => this.ready.database(),
            () => this.ready.keys(),
            async () => Object.assign({}, ...(await this.ready.registries())) as HealthIndicatorResult,
          ]),
        );
    } catch (e) {
      if (!(e instanceof ServiceUnavailableException)) throw e;
      void res.code(503).send(e.getResponse());
    }
  }
}
