import { Controller, Get, Param, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
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

  // Fastify's wildcard: `*`, the rest of the path, as its parameter `*`
  @Get(':stage/*')
  async signature(@Param('stage') stageName: string, @Param('*') rel: string, @Res() res: FastifyReply): Promise<void> {
    const parsed = parseSignaturePath(String(rel));
    const stage = this.catalog.list().find((s) => s.name === stageName);
    if (!parsed || !stage) {
      this.notFound(res);
      return;
    }
    let bytes: Buffer | undefined;
    try {
      bytes = await stage.lookaside.read(parsed.repository, parsed.digest, parsed.n);
    } catch {
      void res.code(503).header('cache-control', 'no-store').send();
      return;
    }
    if (!bytes) {
      this.notFound(res);
      return;
    }
    // A signature never changes under its number once written.
    void res
      .code(200)
      .header('content-type', 'application/octet-stream')
      .header('cache-control', 'public, max-age=31536000, immutable')
      .send(bytes);
  }

  private notFound(res: FastifyReply): void {
    void res.code(404).header('cache-control', 'no-cache').header('content-type', 'text/plain').send('not found\n');
  }
}
