/**
 * The schemas of the API's answers (OpenAPI 3.0 components), the contract a
 * generated client is built from (apps/cli/src/client/api-types.ts). The
 * end-to-end test checks live answers against them, so they say what the
 * routes really send.
 */
type Schema = Record<string, unknown>;

const str = (description?: string, extra: Schema = {}): Schema => ({ type: 'string', ...(description ? { description } : {}), ...extra });
const int = (description?: string): Schema => ({ type: 'integer', ...(description ? { description } : {}) });
const bool = (description?: string): Schema => ({ type: 'boolean', ...(description ? { description } : {}) });
const nullable = (s: Schema): Schema => ({ ...s, nullable: true });
const arr = (items: Schema, description?: string): Schema => ({ type: 'array', items, ...(description ? { description } : {}) });
const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
/** An object with these properties, all required unless named in `optional`. */
const obj = (properties: Record<string, Schema>, optional: string[] = [], extra: Schema = {}): Schema => ({
  type: 'object',
  properties,
  required: Object.keys(properties).filter((k) => !optional.includes(k)),
  ...extra,
});
const time = (description?: string) => str(description, { format: 'date-time' });
const digest = str('sha256:<64 hex>', { pattern: '^sha256:[a-f0-9]{64}$' });
const anything: Schema = { description: 'any JSON value' };
const failure = nullable(obj({ code: str('a stable error code'), message: str() }));

export const SCHEMAS: Record<string, Schema> = {
  Error: obj(
    {
      error: obj({
        code: str('a stable code (README, Exit codes; the API maps each to one HTTP status)'),
        message: str('one line a person can act on'),
        requestId: str('the request id, also in the x-request-id header, the log and the audit event'),
      }),
    },
    [],
    { description: 'Every refusal: its code, a message and the request id' },
  ),
  Promotion: obj(
    {
      id: str(undefined, { format: 'uuid' }),
      image: str('the image as the requester wrote it'),
      source: str('the source reference, normalized'),
      target: str('the target reference in the next stage'),
      digest: str('the digest requested and verified at the source', { pattern: '^sha256:[a-f0-9]{64}$' }),
      targetDigest: str('the digest that lands at the target: the digest itself, or the subset index when platforms were chosen', {
        pattern: '^sha256:[a-f0-9]{64}$',
      }),
      platforms: nullable(arr(str('os/architecture[/variant]'), 'the platforms chosen from an index; null: the image as it is')),
      mediaType: str(),
      from: str('source stage'),
      to: str('target stage'),
      reason: str(),
      requester: str(),
      state: str(
        'requested, approved, queued, verifying, copying, signing, published, completed, exporting, exported, imported, rejected, cancelled or failed',
      ),
      attempt: int(),
      approvalsRequired: int(),
      approvalsNeeded: int(),
      approvals: arr(obj({ approver: str(), role: str(), comment: str(), at: time() })),
      progress: obj({ bytesDone: int(), bytesTotal: int() }),
      steps: arr(
        obj({
          attempt: int(),
          name: str('verify, copy, sign or publish'),
          state: str('running, done or failed'),
          startedAt: time(),
          finishedAt: nullable(time()),
          detail: anything,
        }),
        'every step of every attempt (on GET /promotions/:id)',
      ),
      error: failure,
      result: nullable({
        type: 'object',
        description: 'what the last run did (digest, bytes, blobs, signatures)',
        additionalProperties: true,
      }),
      createdAt: time(),
      updatedAt: time(),
      finishedAt: nullable(time()),
    },
    ['steps'],
  ),
  Release: obj({
    id: str(undefined, { format: 'uuid' }),
    name: str(),
    from: str(),
    to: str(),
    reason: str(),
    requester: str(),
    state: str(
      "derived from its images': rejected or cancelled when one was; requested while one waits for approvals; running while one runs; failed when one failed and none runs; completed when all completed (or were imported across the gap); exported when the rest wait across the gap",
    ),
    createdAt: time(),
    progress: obj({ bytesDone: int(), bytesTotal: int() }),
    images: arr(
      obj({
        promotionId: str(undefined, { format: 'uuid' }),
        image: str('the source reference'),
        target: str(),
        digest,
        targetDigest: digest,
        platforms: nullable(arr(str('os/architecture[/variant]'))),
        state: str(),
        approvalsNeeded: int(),
        progress: obj({ bytesDone: int(), bytesTotal: int() }),
        error: failure,
      }),
    ),
  }),
  ReleaseList: obj({ items: arr(ref('Release')) }),
  PromotionPage: obj({ items: arr(ref('Promotion')), nextCursor: nullable(str('pass as cursor= for the next page')) }),
  PromotionHistory: obj({ promotion: ref('Promotion'), events: arr(ref('AuditEvent')) }),
  StateChange: obj(
    { seq: int('the audit event that recorded it'), at: time(), from: str(), to: str(), step: str(), code: str(), message: str() },
    ['step', 'code', 'message'],
    { description: 'the data of a `state` server-sent event' },
  ),
  Stage: obj({
    name: str(),
    registry: str(),
    transport: str('registry, or bundle for a stage reached across the air gap'),
    keyFingerprint: nullable(str('the OpenPGP key fingerprint, when this side holds the stage key')),
    lookasideUrl: str(),
    receivesFrom: arr(str()),
    approvals: obj({ required: int(), roles: arr(str()) }),
  }),
  StageList: obj({ stages: arr(ref('Stage')) }),
  Whoami: obj({ user: str(), roles: arr(str()), tokenId: nullable(str()) }),
  AuditEvent: obj({
    seq: int(),
    time: time(),
    actor: str(),
    role: nullable(str()),
    action: str('one action of GET /api/v1/audit/actions'),
    promotionId: nullable(str()),
    stage: nullable(str()),
    image: nullable(str()),
    digest: nullable(str()),
    requestId: nullable(str()),
    details: { type: 'object', additionalProperties: true, description: 'the keys the action lists' },
    prevHash: str(),
    hash: str('SHA-256 of prevHash and the canonical JSON of the event'),
  }),
  AuditEventPage: obj({ items: arr(ref('AuditEvent')), nextCursor: nullable(str()) }),
  AuditActions: obj({ items: arr(obj({ action: str(), what: str(), columns: arr(str()), details: arr(str()) })) }),
  AuditVerification: obj(
    {
      ok: bool(),
      size: int('events in the chain'),
      head: str('the last event hash'),
      firstBadSeq: int('the first event that does not verify'),
      reason: str(),
      checkpoints: arr({ type: 'object', additionalProperties: true }),
    },
    ['head', 'firstBadSeq', 'reason'],
  ),
  Checkpoint: obj(
    { id: int(), size: int(), head: str(), time: time(), keyFingerprint: str(), signature: str('base64 OpenPGP signature') },
    ['signature'],
  ),
  CheckpointList: obj({ checkpoints: arr(ref('Checkpoint')) }),
  Bundle: obj({
    id: str(),
    channel: str(),
    direction: str('export or import'),
    sequence: int(),
    createdAt: time(),
    expiresAt: time(),
    full: bool(),
    sender: str('the sender key fingerprint'),
    volumes: arr(obj({ name: str(), size: int() })),
    images: arr({ type: 'object', additionalProperties: true }),
    bytes: int(),
    receiptAt: nullable(time()),
  }),
  BundleList: obj({ bundles: arr(ref('Bundle')) }),
  BundleJob: obj({
    id: str(),
    kind: str('export or import'),
    channel: str(),
    sequence: int(),
    bundleId: str(),
    state: str('queued, running, completed or failed'),
    requestedBy: str(),
    bytesDone: int(),
    bytesTotal: int(),
    result: { ...anything, description: 'the bundle written, or the import and its receipt, once completed' },
    error: failure,
    createdAt: time(),
    finishedAt: nullable(time()),
  }),
  Upload: obj({ name: str(), size: int('bytes stored') }),
  Health: obj({ status: str() }),
  Readiness: {
    type: 'object',
    additionalProperties: true,
    description: 'what this instance must reach, each with its status (Terminus shape); 503 when something is down',
    properties: { status: str('ok or error') },
    required: ['status'],
  },
  PolicyFiles: obj({ files: arr(obj({ name: str(), mediaType: str(), content: str() })) }),
};
