import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { StageCatalog, renderPolicyFiles } from '@airlock/promotion';
import { Public } from '../auth/roles.decorator';

/** Stages, their public keys, and the policy files clusters need to trust them. */
@Controller('api/v1/stages')
export class StagesController {
  constructor(private readonly catalog: StageCatalog) {}

  @Get()
  list(): { stages: object[] } {
    return {
      stages: this.catalog.list().map((s) => ({
        name: s.name,
        registry: s.registry,
        transport: s.config.transport,
        keyFingerprint: s.publicKeyFingerprint ?? null,
        lookasideUrl: s.lookasideUrl,
        receivesFrom: s.config.from.map((f) => f.stage),
        approvals: s.config.approvals,
      })),
    };
  }

  /** Public keys are public: clusters and operators fetch them without a token. */
  @Public()
  @Get(':stage/key')
  key(@Param('stage') stage: string, @Res() res: FastifyReply): void {
    const t = this.catalog.trust(stage);
    void res.code(200).header('content-type', 'application/pgp-keys').send(t.publicKeyArmored);
  }

  /** One format answers with the file itself; `all` answers a JSON list of files. */
  @Public()
  @Get(':stage/policy')
  policy(
    @Param('stage') stage: string,
    @Query('format') format: string | undefined,
    @Query('dialect') dialect: string | undefined,
    @Res() res: FastifyReply,
  ): void {
    const files = renderPolicyFiles(this.catalog, stage, format ?? 'policy-json', dialect ?? 'both');
    if (files.length === 1) {
      void res
        .code(200)
        .header('content-type', files[0].mediaType)
        .header('content-disposition', `attachment; filename="${files[0].name}"`)
        .send(files[0].content);
      return;
    }
    void res.code(200).send({ files });
  }
}
