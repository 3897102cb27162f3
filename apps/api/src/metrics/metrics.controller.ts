import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { Registry } from 'prom-client';
import { Public } from '../auth/roles.decorator';
import { METRICS } from './metrics.token';

/** Prometheus text exposition. Public, like most scrape targets: it shows counts, never names or secrets. */
@Controller('metrics')
export class MetricsController {
  constructor(@Inject(METRICS) private readonly registry: Registry) {}

  @Get()
  @Public()
  async metrics(@Res() res: FastifyReply): Promise<void> {
    const text = await this.registry.metrics();
    void res.code(200).header('content-type', this.registry.contentType).send(text);
  }
}
