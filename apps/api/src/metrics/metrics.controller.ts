import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { Response } from 'express';
import type { Registry } from 'prom-client';
import { Public } from '../auth/roles.decorator';
import { METRICS } from './metrics.token';

/** Prometheus text exposition. Public, like most scrape targets: it shows counts, never names or secrets. */
@Controller('metrics')
export class MetricsController {
  constructor(@Inject(METRICS) private readonly registry: Registry) {}

  @Get()
  @Public()
  async metrics(@Res() res: Response): Promise<void> {
    res
      .status(200)
      .setHeader('content-type', this.registry.contentType)
      .end(await this.registry.metrics());
  }
}
