import { Body, Controller, Get, HttpCode, MessageEvent, Param, ParseUUIDPipe, Post, Query, Req, Sse } from '@nestjs/common';
import { Observable } from 'rxjs';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { AirlockError } from '@airlock/common';
import { PromotionService } from '@airlock/promotion';
import type { PromotionView, Principal } from '@airlock/promotion';
import { Roles } from '../auth/roles.decorator';
import type { AuthedRequest } from '../auth/token.guard';
import { requestIdOf } from '../errors/domain-exception.filter';
import { promotionEvents } from './promotion-events';
import { ApproveDto, CreatePromotionDto, EmptyDto, ListPromotionsQuery, RejectDto } from './promotion.dto';

const uuid = new ParseUUIDPipe({
  version: '4',
  exceptionFactory: () => new AirlockError('PROMOTION_NOT_FOUND', 'no promotion with that id'),
});

/** Promotions: request, approve, reject, cancel, retry, and read. */
@ApiTags('promotions')
@ApiBearerAuth()
@Controller('api/v1/promotions')
export class PromotionsController {
  constructor(private readonly promotions: PromotionService) {}

  private ctx(req: AuthedRequest): { principal: Principal; requestId: string } {
    return { principal: req.principal as Principal, requestId: requestIdOf(req) };
  }

  @Post()
  @Roles('requester')
  create(@Req() req: AuthedRequest, @Body() body: CreatePromotionDto): Promise<PromotionView> {
    return this.promotions.request(this.ctx(req), body);
  }

  @Get()
  list(@Query() q: ListPromotionsQuery): { items: PromotionView[]; nextCursor: string | null } {
    return this.promotions.list(q);
  }

  @Get(':id')
  get(@Param('id', uuid) id: string): PromotionView {
    return this.promotions.view(id);
  }

  /** Server-sent events: the promotion each time it changes, until it is final. */
  @Sse(':id/events')
  events(@Param('id', uuid) id: string): Observable<MessageEvent> {
    this.promotions.view(id);
    return promotionEvents(this.promotions, id);
  }

  @Post(':id/approve')
  @HttpCode(200)
  @Roles('approver')
  approve(@Req() req: AuthedRequest, @Param('id', uuid) id: string, @Body() body: ApproveDto): Promise<PromotionView> {
    return this.promotions.approve(this.ctx(req), id, body.comment ?? '');
  }

  @Post(':id/reject')
  @HttpCode(200)
  @Roles('approver')
  reject(@Req() req: AuthedRequest, @Param('id', uuid) id: string, @Body() body: RejectDto): Promise<PromotionView> {
    return this.promotions.reject(this.ctx(req), id, body.reason ?? '');
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @Roles('requester')
  cancel(@Req() req: AuthedRequest, @Param('id', uuid) id: string, @Body() _b: EmptyDto): Promise<PromotionView> {
    return this.promotions.cancel(this.ctx(req), id);
  }

  @Post(':id/retry')
  @HttpCode(200)
  @Roles('admin')
  retry(@Req() req: AuthedRequest, @Param('id', uuid) id: string, @Body() _b: EmptyDto): Promise<PromotionView> {
    return this.promotions.retry(this.ctx(req), id);
  }
}
