import { Controller, Get, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { AuthedRequest } from './token.guard';

/** Who the bearer token is: `airlock login` checks a token with it before saving it. */
@ApiTags('auth')
@ApiBearerAuth()
@Controller('api/v1/whoami')
export class WhoamiController {
  /** Any valid token: its user, roles and token id (never the secret). */
  @Get()
  whoami(@Req() req: AuthedRequest): { user: string; roles: string[]; tokenId: string | null } {
    const p = req.principal;
    return { user: p?.user ?? '', roles: p?.roles ?? [], tokenId: p?.tokenId ?? null };
  }
}
