import { Controller, Get } from '@nestjs/common';
import { Public } from '../auth/roles.decorator';

/** Liveness: the process answers. */
@Controller('health')
export class HealthController {
  @Get()
  @Public()
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }
}
