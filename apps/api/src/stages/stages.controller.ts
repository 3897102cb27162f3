import { Controller, Get, Param, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
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
  key(@Param('stage') stage: string, @Res() res: Response): void {
    const t = this.catalog.trust(stage);
    res.status(200).setHeader('content-type', 'application/pgp-keys').end(t.publicKeyArmored);
  }

  /** One format answers with the file itself; `all` answers a JSON list of files. */
  @Public()
  @Get(':stage/policy')
  policy(
    @Param('stage') stage: string,
    @Query('format') format: string | undefined,
    @Query('dialect') dialect: string | undefined,
    @Res() res: Response,
  ): void {
    const files = renderPolicyFiles(this.catalog, stage, format ?? 'policy-json', dialect ?? 'both');
    if (files.length === 1) {
      res
        .status(200)
        .setHeader('content-type', files[0].mediaType)
        .setHeader('content-disposition', `attachment; filename="${files[0].name}"`)
        .end(files[0].content);
      return;
    }
    res.status(200).json({ files });
  }
}
