import { z } from 'zod';

const NAME = /^[a-z][a-z0-9-]{0,31}$/;
const HOST =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:.]+\])(?::\d{1,5})?$/;
const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;

/** A secret is never written into the file: it names an environment variable or a file that holds it. */
export const secretRefSchema = z
  .object({
    env: z
      .string()
      .regex(ENV_NAME, 'must be an environment variable name (A-Z, 0-9, _)')
      .optional()
      .describe('Environment variable holding the secret.'),
    file: z.string().min(1).optional().describe('File holding the secret (one line).'),
  })
  .strict()
  .refine((s) => !!s.env !== !!s.file, { message: 'give exactly one of env or file' })
  .describe('Where a secret comes from: `env: VAR` or `file: /path` (never the secret itself).');

export const identityRuleSchema = z
  .union([
    z.object({ type: z.enum(['matchRepoDigestOrExact', 'matchExact', 'matchRepository']) }).strict(),
    z.object({ type: z.literal('exactReference'), dockerReference: z.string().min(1) }).strict(),
    z.object({ type: z.literal('exactRepository'), dockerRepository: z.string().min(1) }).strict(),
    z.object({ type: z.literal('remapIdentity'), prefix: z.string().min(1), signedPrefix: z.string().min(1) }).strict(),
  ])
  .describe('How the identity in a signature must match the image (containers/image signedIdentity).');

export const registrySchema = z
  .object({
    host: z.string().regex(HOST, 'must be host or host:port').describe('Registry host[:port], as in image references.'),
    insecure: z.boolean().default(false).describe('Allow plain HTTP or unverified TLS (loopback sandboxes only).'),
    caFile: z
      .string()
      .min(1)
      .optional()
      .describe('PEM file of CA certificates trusted for this registry besides the system ones (default: certs.d/<host>/*.crt).'),
    clientCert: z
      .object({
        certFile: z.string().min(1).describe('PEM client certificate.'),
        keyFile: z.string().min(1).describe('Its unencrypted PEM private key (keep it readable by airlock only).'),
      })
      .strict()
      .optional()
      .describe('Client certificate for a registry that asks for one (mutual TLS; default: certs.d/<host>/NAME.cert + NAME.key).'),
    username: z.string().optional().describe('Registry user, when it needs one.'),
    password: secretRefSchema.optional().describe('Registry password (env or file).'),
  })
  .strict();

export const signingKeySchema = z
  .object({
    privateKey: z.string().min(1).describe('Path of the stage private key (armored, passphrase-protected).'),
    publicKey: z.string().min(1).describe('Path of the stage public key (what clusters trust).'),
    passphrase: secretRefSchema.describe('Passphrase of the private key.'),
  })
  .strict();

export const sigstoreKeySchema = signingKeySchema
  .extend({
    attach: z
      .enum(['tag', 'referrer', 'both'])
      .default('tag')
      .describe(
        'Where the stage writes its sigstore signatures: `tag` (sha256-<hex>.sig, cosign 1.x/2.x and every enforcer), `referrer` (a sigstore bundle as an OCI 1.1 referrer, cosign 3) or `both`.',
      ),
  })
  .strict();

export const arrivalSchema = z
  .object({
    stage: z.string().regex(NAME).describe('The stage images arrive from.'),
    trustedKeys: z
      .array(z.string().min(1))
      .min(1)
      .describe(
        'Public key files whose signatures are accepted for images from that stage: OpenPGP keys (simple signing, in the source lookaside) or PEM sigstore keys (cosign signatures in the source registry), told apart by content.',
      ),
    identityRule: identityRuleSchema.default({ type: 'matchRepoDigestOrExact' }),
    mapping: z
      .array(z.object({ from: z.string().min(1), to: z.string().min(1) }).strict())
      .min(1)
      .describe('Repository mapping, e.g. from `dev.example/team/*` to `qa.example/team/*`.'),
  })
  .strict();

export const approvalSchema = z
  .object({
    required: z.number().int().min(0).max(10).default(1).describe('Distinct approvers needed; the requester never counts.'),
    roles: z
      .array(z.enum(['approver', 'admin']))
      .min(1)
      .default(['approver'])
      .describe('Roles whose approval counts.'),
  })
  .strict();

export const stageSchema = z
  .object({
    name: z.string().regex(NAME, 'lowercase letters, digits and -, starting with a letter').describe('Stage name (dev, qa, prod, ...).'),
    registry: registrySchema.describe('The stage registry.'),
    scopes: z
      .array(z.string().min(1))
      .default([])
      .describe('Repositories (host/ns/repo or host/ns) the stage policy covers; the whole registry when empty.'),
    signing: signingKeySchema.optional().describe('The stage key: what airlock re-signs with on arrival, what clusters trust.'),
    sigstore: sigstoreKeySchema
      .optional()
      .describe(
        'The stage sigstore (cosign) key, ECDSA P-256 (`airlock keys generate --format sigstore`, or a key `cosign generate-key-pair` wrote): airlock also signs in the sigstore dialect, in the registry, for Kyverno, policy-controller, Connaisseur and OpenShift.',
      ),
    lookaside: z
      .object({
        dir: z.string().min(1).describe('Folder of the stage signature store.'),
        publicUrl: z.string().url().optional().describe('URL clusters read it from (default: server.publicUrl + /sigstore/<stage>).'),
      })
      .strict()
      .describe('The stage signature store (lookaside), served at /sigstore/<stage>.'),
    transport: z.enum(['registry', 'bundle']).default('registry').describe('`bundle` for an air-gapped stage reached by transfer bundles.'),
    attachments: z
      .boolean()
      .default(true)
      .describe(
        'Copy what is attached to an image in the source registry (cosign signatures, attestations and SBOMs: the sha256-<hex>.sig, .att and .sbom tags) into this stage with it; false to leave them behind.',
      ),
    from: z.array(arrivalSchema).default([]).describe('Stages images arrive from, the keys trusted for each, and the repository mapping.'),
    approvals: approvalSchema.default({ required: 1, roles: ['approver'] }).describe('Approval rule for promotions into this stage.'),
    mirrors: z
      .array(z.object({ prefix: z.string().min(1), signedPrefix: z.string().min(1) }).strict())
      .default([])
      .describe('Other names the stage images are pulled under (policy remapIdentity).'),
  })
  .strict();

export const channelSchema = z
  .object({
    name: z.string().regex(/^[a-z][a-z0-9-]{0,63}$/),
    from: z.string().regex(NAME).describe('Source stage (the low side).'),
    to: z.string().regex(NAME).describe('Target stage, with transport bundle.'),
    encrypt: z.boolean().default(true).describe('Encrypt bundles to the recipients (some cross-domain scanners refuse encrypted files).'),
    recipients: z
      .array(z.string().min(1))
      .default([])
      .describe('Low side: public keys of the high side that bundles are encrypted to and receipts are signed by.'),
    sender: signingKeySchema.optional().describe('Low side: key that signs bundles (default: the source stage key).'),
    trustedSenders: z.array(z.string().min(1)).default([]).describe('High side: pinned sender public keys.'),
    importKey: signingKeySchema
      .optional()
      .describe('High side: key that decrypts bundles and signs receipts (default: the target stage key).'),
    volumeSizeMiB: z
      .number()
      .int()
      .min(1)
      .max(1 << 20)
      .default(4096)
      .describe('Largest volume, for the media.'),
    bundleFormat: z
      .union([z.literal(1), z.literal(2)])
      .default(2)
      .describe(
        'Low side: 2 writes zip volumes that each carry the signed index, entries sealed one by one (each volume checked and imported alone); 1 the single OpenPGP stream cut into volumes, for a far side that runs an airlock older than format 2.',
      ),
    lifetimeHours: z
      .number()
      .int()
      .min(1)
      .max(24 * 365)
      .default(168)
      .describe('Bundles expire after this.'),
    resendAfterHours: z
      .number()
      .int()
      .min(0)
      .max(24 * 365)
      .default(72)
      .describe(
        'Low side: promotions exported this long ago without a receipt go into the next bundle again (a lost or refused bundle strands nothing); 0: only those named with --resend.',
      ),
    dir: z
      .string()
      .optional()
      .describe('Folder bundles are written to and receipts read from (default: bundles/<channel> beside the database).'),
  })
  .strict();

export const configSchema = z
  .object({
    server: z
      .object({
        host: z.string().default('127.0.0.1').describe('Address the API listens on.'),
        port: z.number().int().min(0).max(65535).default(8080).describe('Port the API listens on.'),
        publicUrl: z.string().url().optional().describe('Base URL clients use to reach airlock (default http://host:port).'),
        rateLimitPerMinute: z
          .number()
          .int()
          .min(1)
          .default(120)
          .describe('Changes (POST, PUT, DELETE) one token may make per minute; reads are not limited.'),
      })
      .strict()
      .default({ host: '127.0.0.1', port: 8080, rateLimitPerMinute: 120 })
      .describe('The HTTP API.'),
    database: z.string().default('./.airlock/airlock.db').describe('SQLite file of record.'),
    redis: z
      .union([
        z.string(),
        z
          .object({
            url: z.string().default('redis://127.0.0.1:6379').describe('Redis URL.'),
            prefix: z
              .string()
              .regex(/^[A-Za-z0-9._-]{1,64}$/, 'letters, digits, dot, dash or underscore')
              .default('airlock')
              .describe(
                'Prefix of every key and queue airlock keeps in Redis: deployments (or tests) sharing one Redis are kept apart by it.',
              ),
          })
          .strict(),
      ])
      .default('redis://127.0.0.1:6379')
      .describe('Redis for the job queues: a URL, or { url, prefix }.'),
    worker: z
      .object({
        concurrency: z.number().int().min(1).max(64).default(4).describe('Promotions a worker runs at once.'),
        lockSeconds: z.number().int().min(1).max(3600).default(30).describe('A job of a worker that died is taken over after this.'),
        nice: z
          .number()
          .int()
          .min(0)
          .max(19)
          .default(10)
          .describe(
            'CPU priority (Unix nice) of `airlock worker`: on a machine it shares with the API, promotions yield the CPU to answers; 0 for normal priority (`airlock serve` is one process and keeps its own).',
          ),
      })
      .strict()
      .default({ concurrency: 4, lockSeconds: 30, nice: 10 })
      .describe('Workers.'),
    audit: z
      .object({
        stage: z.string().regex(NAME).optional().describe('Stage whose key signs audit checkpoints (default: the first stage with a key).'),
        checkpointIntervalSeconds: z
          .number()
          .int()
          .min(0)
          .default(3600)
          .describe('Signed checkpoint interval; 0 turns the timer off (POST /audit/checkpoints still works).'),
      })
      .strict()
      .default({ checkpointIntervalSeconds: 3600 })
      .describe('The audit trail.'),
    stages: z.array(stageSchema).min(1).describe('The stages, in promotion order.'),
    channels: z.array(channelSchema).default([]).describe('Bundle channels across the air gap.'),
  })
  .strict()
  .superRefine((c, ctx) => {
    const names = new Set<string>();
    c.stages.forEach((s, i) => {
      if (names.has(s.name)) ctx.addIssue({ code: 'custom', path: ['stages', i, 'name'], message: `duplicate stage name ${s.name}` });
      names.add(s.name);
    });
    c.channels.forEach((ch, i) => {
      for (const k of ['from', 'to'] as const)
        if (!names.has(ch[k])) ctx.addIssue({ code: 'custom', path: ['channels', i, k], message: `unknown stage ${ch[k]}` });
    });
    c.stages.forEach((s, i) =>
      s.from.forEach((f, j) => {
        if (!names.has(f.stage))
          ctx.addIssue({ code: 'custom', path: ['stages', i, 'from', j, 'stage'], message: `unknown stage ${f.stage}` });
        if (f.stage === s.name)
          ctx.addIssue({ code: 'custom', path: ['stages', i, 'from', j, 'stage'], message: 'a stage cannot receive from itself' });
      }),
    );
  });

export type AirlockConfig = z.infer<typeof configSchema>;
export type StageConfig = z.infer<typeof stageSchema>;
export type SecretRef = z.infer<typeof secretRefSchema>;
export type ChannelConfig = z.infer<typeof channelSchema>;

/** Where the queues live: the Redis URL and the prefix of every key (a bare URL means the prefix `airlock`). */
export function redisSettings(c: Pick<AirlockConfig, 'redis'>): { url: string; prefix: string } {
  return typeof c.redis === 'string' ? { url: c.redis, prefix: 'airlock' } : { url: c.redis.url, prefix: c.redis.prefix };
}
