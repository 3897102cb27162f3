import { Body, Controller, Get, HttpCode, Param, Post, Req, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { IsBoolean, IsOptional } from 'class-validator';
import type { Response } from 'express';
import { createReadStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { AirlockError } from '@airlock/common';
import { AuditLog } from '@airlock/audit';
import { BundleExporter, StageCatalog, channelOf } from '@airlock/promotion';
import type { Principal } from '@airlock/promotion';
import { Roles } from '../auth/roles.decorator';
import type { AuthedRequest } from '../auth/token.guard';
import { requestIdOf } from '../errors/domain-exception.filter';

export class ExportBundleDto {
  @IsOptional()
  @IsBoolean()
  full?: boolean;
}

interface BundleRow {
  id: string;
  channel: string;
  direction: string;
  sequence: number;
  created_at: string;
  expires_at: string;
  full: number;
  sender: string;
  volumes: string;
  images: string;
  bytes: number;
  receipt_at: string | null;
}

const view = (b: BundleRow) => ({
  id: b.id,
  channel: b.channel,
  direction: b.direction,
  sequence: b.sequence,
  createdAt: b.created_at,
  expiresAt: b.expires_at,
  full: !!b.full,
  sender: b.sender,
  volumes: JSON.parse(b.volumes),
  images: JSON.parse(b.images),
  bytes: b.bytes,
  receiptAt: b.receipt_at,
});

/** Bundle export on the low side, and the bundles each side wrote or took in. */
@ApiTags('bundles')
@ApiBearerAuth()
@Controller('api/v1')
export class BundlesController {
  constructor(
    private readonly exporter: BundleExporter,
    private readonly audit: AuditLog,
    private readonly catalog: StageCatalog,
  ) {}

  @Post('channels/:name/bundles')
  @HttpCode(201)
  @Roles('operator')
  async export(@Req() req: AuthedRequest, @Param('name') name: string, @Body() body: ExportBundleDto): Promise<object> {
    return this.exporter.export({ principal: req.principal as Principal, requestId: requestIdOf(req) }, name, { full: body.full });
  }

  @Get('bundles')
  @Roles('operator', 'auditor')
  list(): object {
    return { bundles: (this.audit.db.prepare('SELECT * FROM bundles ORDER BY created_at DESC, sequence DESC LIMIT 500').all() as BundleRow[]).map(view) };
  }

  @Get('bundles/:id')
  @Roles('operator', 'auditor')
  get(@Param('id') id: string): object {
    const b = this.audit.db.prepare('SELECT * FROM bundles WHERE id = ?').get(id) as BundleRow | undefined;
    if (!b) throw new AirlockError('NOT_FOUND', 'no bundle with that id');
    return view(b);
  }

  /** Downloads one volume (or the volume index) of an exported bundle. */
  @Get('bundles/:id/volumes/:name')
  @Roles('operator')
  async volume(@Param('id') id: string, @Param('name') name: string, @Res() res: Response): Promise<void> {
    const b = this.audit.db.prepare("SELECT * FROM bundles WHERE id = ? AND direction = 'export'").get(id) as BundleRow | undefined;
    if (!b) throw new AirlockError('NOT_FOUND', 'no exported bundle with that id');
    const names = [...(JSON.parse(b.volumes) as { name: string }[]).map((v) => v.name), `airlock-${b.channel}-${String(b.sequence).padStart(6, '0')}.volumes.json`];
    if (!names.includes(name)) throw new AirlockError('NOT_FOUND', 'no such volume in that bundle');
    const path = join(channelOf(this.catalog, b.channel).dir, name);
    if (!existsSync(path)) throw new AirlockError('NOT_FOUND', 'the volume is no longer in the channel folder');
    res.status(200).setHeader('content-type', 'application/octet-stream').setHeader('content-disposition', `attachment; filename="${name}"`);
    await pipeline(createReadStream(path), res);
  }
}
