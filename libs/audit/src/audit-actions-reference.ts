import { AUDIT_ACTIONS } from './audit-actions';

/** The catalogue of audit actions as a Markdown table, for the README (a test keeps the two equal). */
export function auditActionsReference(): string {
  const rows = Object.entries(AUDIT_ACTIONS).map(
    ([action, a]) =>
      `| \`${action}\` | ${a.what} | ${a.columns.map((c) => `\`${c}\``).join(', ') || '-'} | ${a.details.map((d) => `\`${d}\``).join(', ')} |`,
  );
  return ['| action | what | columns | details |', '| --- | --- | --- | --- |', ...rows, ''].join('\n');
}
