import { Body, Controller, Get, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { ReleaseService } from '@airlock/promotion';
import type { Principal, ReleaseView } from '@airlock/promotion';
import { Roles } from '../auth/roles.decorator';
import type { AuthedRequest } from '../auth/token.guard';
import { requestIdOf } from '../errors/domain-exception.filter';
import { ApproveDto, EmptyDto, RejectDto } from './promotion.dto';
import { CreateReleaseDto } from './release.dto';

/** Releases: many images promoted together, decided together. */
@ApiTags('releases')
@ApiBearerAuth()
@Controller('api/v1/releases')
export class ReleasesController {
  constructor(private readonly releases: ReleaseService) {}

  private ctx(req: AuthedRequest): { principal: Principal; requestId: string } {
    return { principal: req.principal as Principal, requestId: requestIdOf(req) };
  }

  @Post()
  @Roles('requester')
  create(@Req() req: AuthedRequest, @Body() body: CreateReleaseDto): Promise<ReleaseView> {
    return this.releases.request(this.ctx(req), body);
  }

  @Get()
  list(@Query('limit') limit?: string): { items: ReleaseView[] } {
    return { items: this.releases.list(limit ? Number(limit) || 50 : 50) };
  }

  @Get(':id')
  get(@Param('id') id: string): ReleaseView {
    return this.releases.view(id);
  }

  @Post(':id/approve')
  @HttpCode(200)
  @Roles('approver')
  approve(@Req() req: AuthedRequest, @Param('id') id: string, @Body() body: ApproveDto): Promise<ReleaseView> {
    return this.releases.decide(this.ctx(req), id, 'approve', body.comment ?? '');
  }

  @Post(':id/reject')
  @HttpCode(200)
  @Roles('approver')
  reject(@Req() req: AuthedRequest, @Param('id') id: string, @Body() body: RejectDto): Promise<ReleaseView> {
    return this.releases.decide(this.ctx(req), id, 'reject', body.reason ?? '');
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @Roles('requester')
  cancel(@Req() req: AuthedRequest, @Param('id') id: string, @Body() _b: EmptyDto): Promise<ReleaseView> {
    return this.releases.decide(this.ctx(req), id, 'cancel');
  }

  @Post(':id/retry')
  @HttpCode(200)
  @Roles('admin')
  retry(@Req() req: AuthedRequest, @Param('id') id: string, @Body() _b: EmptyDto): Promise<ReleaseView> {
    return this.releases.decide(this.ctx(req), id, 'retry');
  }
}
