import { isAbsolute, join, relative, resolve } from 'node:path';
import { SANDBOX_CONFIG } from '../config-path';

/** What the banner names: both sides' addresses and files, and the sample. */
export interface BannerFacts {
  dir: string;
  lowDir: string;
  highDir: string;
  media: string;
  lowConfig: string;
  highConfig: string;
  lowUrl: string;
  highUrl: string;
  hosts: Record<'dev' | 'qa' | 'prod', string>;
  sample: { ref: string; digest: string };
}

/**
 * The sandbox's banner: where everything is, then each user's story as the
 * exact commands to type from this folder (a test runs them as printed).
 * Commands on the low side find its configuration without flags when the
 * sandbox is ./.airlock (config-path.ts); the air-gapped side's is named.
 */
export function sandboxBanner(f: BannerFacts, cwd = process.cwd()): string {
  const rel = (p: string) => {
    const r = relative(cwd, p);
    return r && !r.startsWith('..') && !isAbsolute(r) ? r : p;
  };
  const found = resolve(cwd, SANDBOX_CONFIG) === resolve(f.lowConfig);
  const low = found ? '' : `AIRLOCK_CONFIG=${rel(f.lowConfig)} `;
  const high = `AIRLOCK_CONFIG=${rel(f.highConfig)} `;
  const as = (who: string) => `AIRLOCK_CONTEXT=${rel(join(f.lowDir, 'contexts', `${who}.json`))} `;
  const usb = rel(join(f.media, 'usb'));
  const qaRef = f.sample.ref.replace(f.hosts.dev, f.hosts.qa);
  return [
    '',
    `airlock sandbox is running: both sides of the air gap, state in ${rel(f.dir)}`,
    `  low side     API ${f.lowUrl} (OpenAPI at ${f.lowUrl}/docs); registries dev ${f.hosts.dev}, qa ${f.hosts.qa}; Redis; the keys of dev and qa`,
    `               configuration ${rel(f.lowConfig)}${found ? ' (commands run from this folder use it)' : ''}`,
    `  air-gapped   API ${f.highUrl} (OpenAPI at ${f.highUrl}/docs); registry prod ${f.hosts.prod}; its own Redis, database and production key`,
    `               configuration ${rel(f.highConfig)}`,
    `  media        ${rel(f.media)}: ${usb} stands for the removable medium that crosses the gap`,
    '  people       alice requester, bob and carol approvers, dave auditor, olga operator, root admin; a context file each',
    `               for the client commands in ${rel(join(f.lowDir, 'contexts'))}/ and ${rel(join(f.highDir, 'contexts'))}/`,
    `  sample       ${f.sample.ref} (${f.sample.digest}), signed by dev with OpenPGP and cosign`,
    '',
    '1. Approver: promote the sample to QA',
    `  export ${as('alice').trim()}`,
    `  ID=$(npx airlock promote ${f.sample.ref} --from dev --to qa --reason "first promotion" -q)`,
    `  ${as('bob')}npx airlock approve $ID --comment "tested in dev"`,
    '  npx airlock status $ID --watch',
    '',
    '2. Approver: on to production (two approvers; the promotion waits for the air gap)',
    `  ID=$(npx airlock promote ${qaRef} --from qa --to prod --reason "go live" -q)`,
    `  ${as('bob')}npx airlock approve $ID`,
    `  ${as('carol')}npx airlock approve $ID`,
    '  npx airlock status $ID --watch --until exporting',
    '',
    '3. Operator: export, carry, inspect, import, and bring the receipt back',
    `  ${low}npx airlock bundle export --channel qa-to-prod --out ${usb}`,
    `  ${high}npx airlock bundle inspect ${usb}/*.zip`,
    `  ${high}npx airlock bundle import ${usb}/*.zip --receipt-dir ${usb}`,
    `  ${low}npx airlock bundle receipt import ${usb}/*.receipt`,
    `  rm -r ${usb}`,
    '  npx airlock status $ID',
    '',
    '4. Auditor: the story of a promotion, and both chains verified',
    `  ${as('dave')}npx airlock audit events --promotion $ID`,
    `  ${low}npx airlock audit verify`,
    `  ${high}npx airlock audit verify`,
    '',
    '5. Cluster admin: the files that make clusters accept only what a stage signed',
    `  ${low}npx airlock policy --stage qa --format all --out ${rel(join(f.dir, 'qa-cluster'))}`,
    `  ${high}npx airlock policy --stage prod --format all --out ${rel(join(f.dir, 'prod-cluster'))}`,
    '',
    'Stop with Ctrl-C.',
    '',
  ].join('\n');
}
