import { Controller, Get, Param, Res } from '@nestjs/common';
import type { Response } from 'express';
import { StageCatalog } from '@airlock/promotion';
import { parseSignaturePath } from '@airlock/signing';
import { Public } from '../auth/roles.decorator';

/**
 * Each stage's lookaside store over HTTP, where containers/image clients
 * look: GET/HEAD /sigstore/<stage>/<repo>@sha256=<hex>/signature-<N>.
 * Anything it does not have is a 404 (clients fail on any other status),
 * including every path that tries to leave the store.
 */
@Public()
@Controller('sigstore')
export class SigstoreController {
  constructor(private readonly catalog: StageCatalog) {}

  @Get(':stage/*path')
  async signature(@Param('stage') stageName: string, @Param('path') path: string[] | string, @Res() res: Response): Promise<void> {
    const rel = Array.isArray(path) ? path.join('/') : String(path);
    const parsed = parseSignaturePath(rel);
    const stage = this.catalog.list().find((s) => s.name === stageName);
    if (!parsed || !stage) {
      this.notFound(res);
      return;
    }
    let bytes: Buffer | undefined;
    try {
      bytes = await stage.lookaside.read(parsed.repository, parsed.digest, parsed.n);
    } catch {
      res.status(503).setHeader('cache-control', 'no-store').end();
      return;
    }
    if (!bytes) {
      this.notFound(res);
      return;
    }
    // A signature never changes under its number once written.
    res
      .status(200)
      .setHeader('content-type', 'application/octet-stream')
      .setHeader('cache-control', 'public, max-age=31536000, immutable')
      .setHeader('content-length', String(bytes.length))
      .end(bytes);
  }

  private notFound(res: Response): void {
    res.status(404).setHeader('cache-control', 'no-cache').setHeader('content-type', 'text/plain').end('not found\n');
  }
}
