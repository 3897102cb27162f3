import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { AirlockError, markAudited } from '@airlock/common';
import { AuditLog } from '@airlock/audit';
import { Principal, Role, TokenService, hasRole } from '@airlock/promotion';
import { PUBLIC_KEY, ROLES_KEY } from './roles.decorator';
import { requestIdOf, routeOf } from '../errors/domain-exception.filter';

export type AuthedRequest = FastifyRequest & { principal?: Principal };

/** What a route asks of its caller, read from its decorators once. */
interface RouteNeeds {
  public: boolean;
  roles: Role[] | undefined;
}

/**
 * Every route is guarded: 401 without a valid bearer token, 403 when the
 * token's roles do not include the route's. Refusals are audited.
 */
@Injectable()
export class TokenGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokenService,
    private readonly audit: AuditLog,
  ) {}

  /** Per handler: its decorators do not change after start. */
  private readonly needs = new WeakMap<object, RouteNeeds>();

  private needsOf(ctx: ExecutionContext): RouteNeeds {
    const handler = ctx.getHandler();
    let n = this.needs.get(handler);
    if (!n) {
      const targets = [handler, ctx.getClass()];
      n = {
        public: !!this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets),
        roles: this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, targets),
      };
      this.needs.set(handler, n);
    }
    return n;
  }

  canActivate(ctx: ExecutionContext): boolean {
    const needs = this.needsOf(ctx);
    if (needs.public) return true;
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    const h = req.headers.authorization;
    const token = typeof h === 'string' && /^Bearer [^\s]+$/i.test(h) ? h.slice(7) : undefined;
    const principal = this.tokens.authenticate(token);
    if (!principal) {
      this.audit.append({
        actor: 'anonymous',
        action: 'auth.refused',
        requestId: requestIdOf(req),
        details: { route: routeOf(req), reason: token ? 'invalid or revoked token' : 'no token' },
      });
      throw markAudited(
        new AirlockError(
          'UNAUTHENTICATED',
          token
            ? 'the bearer token is not valid (unknown, malformed or revoked)'
            : 'this route needs a bearer token (Authorization: Bearer al_...)',
        ),
      );
    }
    req.principal = principal;
    const { roles } = needs;
    if (roles?.length && !hasRole(principal, ...roles)) {
      this.audit.append({
        actor: principal.user,
        role: principal.roles[0],
        action: 'auth.forbidden',
        requestId: requestIdOf(req),
        details: { route: routeOf(req), needs: roles },
      });
      throw markAudited(new AirlockError('FORBIDDEN', `this route needs one of the roles ${roles.join(', ')}`));
    }
    return true;
  }
}
