/** Who a command run on this machine acts as: the operator at the console, in the audit trail as cli:$USER. */
export const operator = () => ({ principal: { user: `cli:${process.env.USER ?? 'operator'}`, roles: ['operator' as const] } });
