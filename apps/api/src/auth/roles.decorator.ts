import { SetMetadata } from '@nestjs/common';
import type { Role } from '@airlock/promotion';

export const ROLES_KEY = 'airlock:roles';
export const PUBLIC_KEY = 'airlock:public';

/** Roles allowed on a route (admin always is). No decorator: any authenticated token. */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES_KEY, roles);

/** A route anyone may call: the lookaside (clusters read it) and liveness. */
export const Public = () => SetMetadata(PUBLIC_KEY, true);
