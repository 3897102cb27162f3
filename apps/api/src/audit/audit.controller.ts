import { Controller, Get, HttpCode, Param, ParseIntPipe, Post, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Readable } from 'node:stream';
import { AirlockError } from '@airlock/common';
import { AUDIT_ACTIONS, AuditLog, exportEvents, getEvent, listCheckpoints, queryEvents, verifyAudit } from '@airlock/audit';
import { PromotionService } from '@airlock/promotion';
import { Roles } from '../auth/roles.decorator';
import { AuditEventsQuery, AuditExportQuery } from './audit.dto';
import { AuditKeys } from './audit-keys';

const seqPipe = new ParseIntPipe({ exceptionFactory: () => new AirlockError('INVALID_ARGUMENT', 'seq must be a whole number') });

/** The auditor's view: events, a promotion's story, exports, chain verification, signed checkpoints. */
@ApiTags('audit')
@ApiBearerAuth()
@Roles('auditor')
@Controller('api/v1')
export class AuditController {
  constructor(
    private readonly audit: AuditLog,
    private readonly promotions: PromotionService,
    private readonly keys: AuditKeys,
  ) {}

  @Get('audit/events')
  events(@Query() q: AuditEventsQuery): object {
    const { sort, limit, cursor, ...filter } = q;
    return queryEvents(this.audit.db, filter, { sort, limit, cursor });
  }

  /** The catalogue: every action an event may name, what it records and the fields it carries. */
  @Get('audit/actions')
  actions(): object {
    return {
      items: Object.entries(AUDIT_ACTIONS).map(([action, a]) => ({ action, what: a.what, columns: a.columns, details: a.details })),
    };
  }

  @Get('audit/events/:seq')
  event(@Param('seq', seqPipe) seq: number): object {
    const e = getEvent(this.audit.db, seq);
    if (!e) throw new AirlockError('NOT_FOUND', `no audit event ${seq}`);
    return e;
  }

  @Get('promotions/:id/history')
  history(@Param('id') id: string): object {
    const promotion = this.promotions.view(id);
    return { promotion, events: this.audit.forPromotion(promotion.id) };
  }

  /** Streams every matching event: any size, bounded memory. */
  @Get('audit/export')
  export(@Query() q: AuditExportQuery, @Res() res: FastifyReply): FastifyReply {
    const { format = 'jsonl', ...filter } = q;
    return res
      .code(200)
      .header('content-type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson')
      .header('content-disposition', `attachment; filename="airlock-audit.${format}"`)
      .send(Readable.from(exportEvents(this.audit.db, filter, format)));
  }

  @Get('audit/verify')
  async verify(): Promise<object> {
    const r = await verifyAudit(this.audit.db, await this.keys.publicKeys());
    return r.chain.ok
      ? { ok: r.ok, size: r.chain.size, head: r.chain.head, checkpoints: r.checkpoints }
      : { ok: false, size: r.chain.size, firstBadSeq: r.chain.firstBadSeq, reason: r.chain.reason, checkpoints: r.checkpoints };
  }

  @Get('audit/checkpoints')
  checkpoints(): object {
    return {
      checkpoints: listCheckpoints(this.audit.db).map((c) => ({
        id: c.id,
        size: c.size,
        head: c.head,
        time: c.time,
        keyFingerprint: c.keyFingerprint,
        signature: c.signature.toString('base64'),
      })),
    };
  }

  /** The signed checkpoint itself, for `gpg --decrypt`. */
  @Get('audit/checkpoints/:id/signature')
  checkpointSignature(@Param('id', seqPipe) id: number, @Res() res: FastifyReply): void {
    const c = listCheckpoints(this.audit.db).find((x) => x.id === id);
    if (!c) throw new AirlockError('NOT_FOUND', `no checkpoint ${id}`);
    void res
      .code(200)
      .header('content-type', 'application/octet-stream')
      .header('content-disposition', `attachment; filename="checkpoint-${id}.sig"`)
      .send(c.signature);
  }

  @Post('audit/checkpoints')
  @HttpCode(201)
  @Roles('admin')
  async checkpoint(): Promise<object> {
    const c = await this.keys.checkpoint();
    return { id: c.id, size: c.size, head: c.head, time: c.time, keyFingerprint: c.keyFingerprint };
  }
}
