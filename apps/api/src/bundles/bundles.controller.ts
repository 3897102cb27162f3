import { Body, Controller, Get, HttpCode, MessageEvent, Param, ParseUUIDPipe, Post, Put, Req, Res, Sse } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { bundleJobEvents } from './bundle-job-events';
import { ApiBearerAuth, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, IsArray, IsBoolean, IsOptional, Matches, ValidateBy, isUUID } from 'class-validator';
import type { FastifyReply } from 'fastify';
import { createReadStream, createWriteStream, existsSync, mkdirSync, promises as fs } from 'node:fs';
import { dirname } from 'node:path';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { AirlockError } from '@airlock/common';
import { BundleExporter, BundleImporter, BundleStore, StageCatalog, channelOf } from '@airlock/promotion';
import type { BundleRow } from '@airlock/promotion';
import type { Principal } from '@airlock/promotion';
import { Roles } from '../auth/roles.decorator';
import type { AuthedRequest } from '../auth/token.guard';
import { requestIdOf } from '../errors/domain-exception.filter';

const UPLOAD_NAME = /^airlock-[a-z0-9-]+-\d{6}\.(\d{3}\.zip|pgp\.\d{3}|volumes\.json)$/;

export class ImportBundleDto {
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(10_000)
  @Matches(UPLOAD_NAME, {
    each: true,
    message: 'files must be names of uploaded volumes (airlock-<channel>-<seq>.NNN.zip; format 1: .pgp.NNN and .volumes.json)',
  })
  files!: string[];
}

const isResend = (v: unknown): boolean =>
  typeof v === 'boolean' || (Array.isArray(v) && v.length >= 1 && v.length <= 1000 && v.every((x) => typeof x === 'string' && isUUID(x)));

export class ExportBundleDto {
  @IsOptional()
  @IsBoolean()
  full?: boolean;

  @ApiPropertyOptional({
    description:
      'send again exported promotions that no receipt confirmed: true for every one, or the ids of those to send (each must be exported, unconfirmed and not superseded by a later promotion of its target)',
    oneOf: [{ type: 'boolean' }, { type: 'array', items: { type: 'string', format: 'uuid' } }],
  })
  @IsOptional()
  @ValidateBy({
    name: 'isResend',
    validator: { validate: isResend, defaultMessage: () => 'resend must be true or a list of promotion ids' },
  })
  resend?: boolean | string[];
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
  volumes: JSON.parse(b.volumes) as unknown,
  images: JSON.parse(b.images) as unknown,
  bytes: b.bytes,
  receiptAt: b.receipt_at,
});

const jobUuid = new ParseUUIDPipe({ version: '4', exceptionFactory: () => new AirlockError('NOT_FOUND', 'no bundle job with that id') });

/** Bundle export on the low side, and the bundles each side wrote or took in. */
@ApiTags('bundles')
@ApiBearerAuth()
@Controller('api/v1')
export class BundlesController {
  constructor(
    private readonly exporter: BundleExporter,
    private readonly importer: BundleImporter,
    private readonly bundles: BundleStore,
    private readonly catalog: StageCatalog,
  ) {}

  /** Low side: starts an export as a queued job (202); a worker writes the bundle; GET or follow the job for its progress and result. */
  @Post('channels/:name/bundles')
  @HttpCode(202)
  @Roles('operator')
  async export(@Req() req: AuthedRequest, @Param('name') name: string, @Body() body: ExportBundleDto): Promise<object> {
    return this.exporter.start({ principal: req.principal as Principal, requestId: requestIdOf(req) }, name, {
      full: body.full,
      resend: body.resend,
    });
  }

  /** An export job: its state, bytes written so far, and when completed the bundle it wrote. */
  @Get('bundle-jobs/:id')
  @Roles('operator', 'auditor')
  job(@Param('id', jobUuid) id: string): object {
    return this.exporter.view(id);
  }

  /** Server-sent events: the export job each time it changes, until it completes or fails. */
  @Sse('bundle-jobs/:id/events')
  @Roles('operator', 'auditor')
  jobEvents(@Param('id', jobUuid) id: string): Observable<MessageEvent> {
    this.exporter.view(id);
    return bundleJobEvents(this.exporter, id);
  }

  private uploadDir(): string {
    const l = this.catalog.loaded;
    return join(dirname(l.resolvePath(l.config.database)), 'uploads');
  }

  /** High side: streams one volume (or the volume index) of a bundle to this side, to import next. */
  @Put('bundles/uploads/:name')
  @Roles('operator')
  async upload(@Req() req: AuthedRequest, @Param('name') name: string): Promise<object> {
    if (!UPLOAD_NAME.test(name))
      throw new AirlockError(
        'INVALID_ARGUMENT',
        'upload name must be airlock-<channel>-<seq>.NNN.zip (format 1: airlock-<channel>-<seq>.pgp.NNN or .volumes.json)',
      );
    const dir = this.uploadDir();
    mkdirSync(dir, { recursive: true });
    const tmp = join(dir, `.${name}.${process.pid}.${Date.now()}`);
    let size = 0;
    const count = new Transform({
      transform(c: Buffer, _e, done) {
        size += c.length;
        done(null, c);
      },
    });
    try {
      // the body is left unread by the parsers (http/body-parsers.ts) for this route: streamed to disk, any size
      await pipeline(req.raw, count, createWriteStream(tmp, { flags: 'wx' }));
      await fs.rename(tmp, join(dir, name));
    } catch (e) {
      await fs.rm(tmp, { force: true });
      throw new AirlockError('BUNDLE_WRITE_FAILED', `upload of ${name} failed: ${(e as Error).message}`);
    }
    return { name, size };
  }

  /**
   * High side: imports uploaded volumes as a job (202; every check first),
   * removing them when it ends; GET or follow /api/v1/bundle-jobs/:id for its
   * progress and outcome (the import and its receipt, or the refusal's code).
   */
  @Post('bundles/import')
  @HttpCode(202)
  @Roles('operator')
  async import(@Req() req: AuthedRequest, @Body() body: ImportBundleDto): Promise<object> {
    const dir = this.uploadDir();
    const paths = body.files.map((f) => join(dir, f));
    return this.importer.start({ principal: req.principal as Principal, requestId: requestIdOf(req) }, paths, {
      cleanup: async () => void (await Promise.all(paths.map((p) => fs.rm(p, { force: true })))),
    });
  }

  /** The signed receipt of an import, to carry back to the low side. */
  @Get('bundles/:id/receipt')
  @Roles('operator')
  receipt(@Param('id') id: string, @Res() reply: FastifyReply): FastifyReply {
    const b = this.bundles.byId(id, 'import');
    if (!b) throw new AirlockError('NOT_FOUND', 'no imported bundle with that id');
    const path = join(channelOf(this.catalog, b.channel).dir, `airlock-${b.channel}-${String(b.sequence).padStart(6, '0')}.receipt`);
    if (!existsSync(path)) throw new AirlockError('NOT_FOUND', 'the receipt is no longer in the channel folder');
    return reply
      .code(200)
      .header('content-type', 'application/octet-stream')
      .header('content-disposition', `attachment; filename="${path.split('/').pop()}"`)
      .send(createReadStream(path));
  }

  @Get('bundles')
  @Roles('operator', 'auditor')
  list(): object {
    return { bundles: this.bundles.list().map(view) };
  }

  @Get('bundles/:id')
  @Roles('operator', 'auditor')
  get(@Param('id') id: string): object {
    const b = this.bundles.byId(id);
    if (!b) throw new AirlockError('NOT_FOUND', 'no bundle with that id');
    return view(b);
  }

  /** Downloads one volume (or the volume index) of an exported bundle. */
  @Get('bundles/:id/volumes/:name')
  @Roles('operator')
  volume(@Param('id') id: string, @Param('name') name: string, @Res() reply: FastifyReply): FastifyReply {
    const b = this.bundles.byId(id, 'export');
    if (!b) throw new AirlockError('NOT_FOUND', 'no exported bundle with that id');
    const volumes = (JSON.parse(b.volumes) as { name: string }[]).map((v) => v.name);
    // a format-1 bundle has its volume index beside the volumes; a format-2 volume carries its own
    const names = volumes.some((v) => v.endsWith('.zip'))
      ? volumes
      : [...volumes, `airlock-${b.channel}-${String(b.sequence).padStart(6, '0')}.volumes.json`];
    if (!names.includes(name)) throw new AirlockError('NOT_FOUND', 'no such volume in that bundle');
    const path = join(channelOf(this.catalog, b.channel).dir, name);
    if (!existsSync(path)) throw new AirlockError('NOT_FOUND', 'the volume is no longer in the channel folder');
    return reply
      .code(200)
      .header('content-type', 'application/octet-stream')
      .header('content-disposition', `attachment; filename="${name}"`)
      .send(createReadStream(path));
  }
}
