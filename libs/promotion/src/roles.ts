/** Roles a token may carry. */
export const ROLES = ['requester', 'approver', 'operator', 'auditor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Who is acting, as the API knows them. */
export interface Principal {
  user: string;
  roles: Role[];
  tokenId?: string;
}

/** True when the principal holds any of `roles` (admin holds every role). */
export function hasRole(p: Principal, ...roles: Role[]): boolean {
  return p.roles.includes('admin') || roles.some((r) => p.roles.includes(r));
}

/** The first of the principal's roles that grants the action, for the audit log. */
export function actingRole(p: Principal, ...roles: Role[]): Role {
  return roles.find((r) => p.roles.includes(r)) ?? (p.roles.includes('admin') ? 'admin' : p.roles[0]);
}
