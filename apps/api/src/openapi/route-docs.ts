/**
 * What each route answers, for the OpenAPI document: a summary, who may
 * call it, its success answer and the error codes it can return (each
 * documented under its HTTP status with the Error shape). Every route the
 * API serves must be here and nothing else: describeApi refuses to build a
 * document otherwise, so a new route without its answers fails every test.
 */
export interface RouteDoc {
  summary: string;
  /** No token needed (public keys, policy files, health, metrics, the lookaside). */
  public?: true;
  /** The roles that may call it (admin may call everything); none: any valid token. */
  roles?: string[];
  ok: { status: number; description: string; schema?: string; media?: string };
  /** Codes this route can refuse with besides those of every route (bad or missing token, role, rate, body, database). */
  errors: string[];
  /** Answers that are not in the Error shape (the readiness report, the lookaside's plain 404). */
  other?: Record<number, { description: string; schema?: string; media?: string }>;
}

const READ_PROMOTION = ['PROMOTION_NOT_FOUND'];
const DECIDE = ['PROMOTION_NOT_FOUND', 'PROMOTION_STATE'];
/** A request resolves its tags in the source registry, and may queue at once when no approval is needed. */
const REQUEST = [
  'INVALID_ARGUMENT',
  'INVALID_REFERENCE',
  'PLATFORM_UNKNOWN',
  'STAGE_UNKNOWN',
  'PROMOTION_ROUTE_UNKNOWN',
  'MANIFEST_UNKNOWN',
  'MANIFEST_INVALID',
  'MANIFEST_UNSUPPORTED',
  'REGISTRY_UNAVAILABLE',
  'REGISTRY_UNAUTHORIZED',
  'REGISTRY_DENIED',
  'REGISTRY_TLS_UNTRUSTED',
  'QUEUE_UNAVAILABLE',
];

export const ROUTE_DOCS: Record<string, RouteDoc> = {
  'GET /health': {
    summary: 'Liveness: the process answers',
    public: true,
    ok: { status: 200, description: 'alive', schema: 'Health' },
    errors: [],
  },
  'GET /health/ready': {
    summary: 'Readiness: Redis, the database, the registries on this side of the gap and the keys',
    public: true,
    ok: { status: 200, description: 'everything this instance needs answers', schema: 'Readiness' },
    errors: [],
    other: { 503: { description: 'something is down (which one, and why, in the report)', schema: 'Readiness' } },
  },
  'GET /metrics': {
    summary: 'Prometheus metrics: promotions by state, failures by code, bytes, step and request durations, queue depth',
    public: true,
    ok: { status: 200, description: 'Prometheus text exposition', media: 'text/plain' },
    errors: [],
  },
  'GET /sigstore/{stage}/{path}': {
    summary: "A stage's lookaside signature store (simple signing), as containers/image reads it: <repo>@sha256=<hex>/signature-N",
    public: true,
    ok: { status: 200, description: 'the signature (an OpenPGP message)', media: 'application/octet-stream' },
    errors: [],
    other: { 404: { description: 'no such signature (plain text, as a static lookaside server answers)', media: 'text/plain' } },
  },
  'GET /api/v1/stages': {
    summary: 'The stages: registries, key fingerprints, lookaside URLs, where each receives from, its approvals',
    ok: { status: 200, description: 'every stage', schema: 'StageList' },
    errors: [],
  },
  'GET /api/v1/stages/{stage}/key': {
    summary: "A stage's OpenPGP public key (armored), for policy.json and gpg",
    public: true,
    ok: { status: 200, description: 'the armored public key', media: 'application/pgp-keys' },
    errors: ['STAGE_UNKNOWN', 'KEY_MISSING'],
  },
  'GET /api/v1/stages/{stage}/policy': {
    summary:
      'Policy files that make clusters accept only what the stage signed (format=policy-json, registries-d, machineconfig, portieris, kyverno, ..., or all)',
    public: true,
    ok: {
      status: 200,
      description: 'one file as itself (its media type), or with format=all a JSON list of files',
      media: 'application/octet-stream',
      schema: 'PolicyFiles',
    },
    errors: ['STAGE_UNKNOWN', 'INVALID_ARGUMENT', 'KEY_MISSING'],
  },
  'GET /api/v1/whoami': {
    summary: "The token's user, roles and id (airlock login checks a token with it)",
    ok: { status: 200, description: 'who the token is', schema: 'Whoami' },
    errors: [],
  },
  'POST /api/v1/promotions': {
    summary: 'Request a promotion: the tag is resolved to its digest now; approvals follow',
    roles: ['requester'],
    ok: { status: 201, description: 'the promotion, requested', schema: 'Promotion' },
    errors: REQUEST,
  },
  'GET /api/v1/promotions': {
    summary: 'Promotions, newest first, filtered by state, stage, image and requester; cursor pagination',
    ok: { status: 200, description: 'a page of promotions', schema: 'PromotionPage' },
    errors: ['INVALID_ARGUMENT'],
  },
  'GET /api/v1/promotions/{id}': {
    summary: 'One promotion: state, steps, bytes, approvals, error',
    ok: { status: 200, description: 'the promotion, with its steps', schema: 'Promotion' },
    errors: READ_PROMOTION,
  },
  'GET /api/v1/promotions/{id}/events': {
    summary:
      'Server-sent events until the promotion is final: `state` for every state change (StateChange), `promotion` with the view when it changes',
    ok: { status: 200, description: 'an event stream', media: 'text/event-stream' },
    errors: READ_PROMOTION,
  },
  'POST /api/v1/promotions/{id}/approve': {
    summary: 'Approve (approvers of the target stage; never the requester); queued once enough distinct approvers agreed',
    roles: ['approver'],
    ok: { status: 200, description: 'the promotion after the approval', schema: 'Promotion' },
    errors: [...DECIDE, 'SELF_APPROVAL_FORBIDDEN', 'QUEUE_UNAVAILABLE'],
  },
  'POST /api/v1/promotions/{id}/reject': {
    summary: 'Reject a requested promotion, with a reason',
    roles: ['approver'],
    ok: { status: 200, description: 'the promotion, rejected', schema: 'Promotion' },
    errors: DECIDE,
  },
  'POST /api/v1/promotions/{id}/cancel': {
    summary: 'Cancel a promotion before it runs (its requester, or an admin)',
    ok: { status: 200, description: 'the promotion, cancelled', schema: 'Promotion' },
    errors: DECIDE,
  },
  'POST /api/v1/promotions/{id}/retry': {
    summary: 'Run a failed promotion again (admins)',
    roles: ['admin'],
    ok: { status: 200, description: 'the promotion, queued again', schema: 'Promotion' },
    errors: [...DECIDE, 'QUEUE_UNAVAILABLE'],
  },
  'POST /api/v1/releases': {
    summary: 'Request a release: many images from one stage to the next, every tag resolved now; one bad image records none',
    roles: ['requester'],
    ok: { status: 201, description: 'the release, requested (each image a promotion of its own)', schema: 'Release' },
    errors: REQUEST,
  },
  'GET /api/v1/releases': {
    summary: 'Releases, newest first, each with its state and its images',
    ok: { status: 200, description: 'the latest releases', schema: 'ReleaseList' },
    errors: [],
  },
  'GET /api/v1/releases/{id}': {
    summary: "A release: its state (derived from its images'), each image's state, progress and error",
    ok: { status: 200, description: 'the release', schema: 'Release' },
    errors: ['NOT_FOUND'],
  },
  'POST /api/v1/releases/{id}/approve': {
    summary: 'Approve every requested image of the release (approvers; never the requester)',
    roles: ['approver'],
    ok: { status: 200, description: 'the release after the approvals', schema: 'Release' },
    errors: ['NOT_FOUND', 'PROMOTION_STATE', 'SELF_APPROVAL_FORBIDDEN', 'QUEUE_UNAVAILABLE'],
  },
  'POST /api/v1/releases/{id}/reject': {
    summary: 'Reject every requested image of the release, with a reason',
    roles: ['approver'],
    ok: { status: 200, description: 'the release, rejected', schema: 'Release' },
    errors: ['NOT_FOUND', 'PROMOTION_STATE'],
  },
  'POST /api/v1/releases/{id}/cancel': {
    summary: 'Cancel every image of the release that has not run yet (its requester, or an admin)',
    roles: ['requester'],
    ok: { status: 200, description: 'the release, cancelled', schema: 'Release' },
    errors: ['NOT_FOUND', 'PROMOTION_STATE'],
  },
  'POST /api/v1/releases/{id}/retry': {
    summary: 'Run again the images of the release that failed, and only those (admins)',
    roles: ['admin'],
    ok: { status: 200, description: 'the release, its failed images queued again', schema: 'Release' },
    errors: ['NOT_FOUND', 'PROMOTION_STATE', 'QUEUE_UNAVAILABLE'],
  },
  'GET /api/v1/promotions/{id}/history': {
    summary: 'The story of one promotion: the promotion and every audit event about it',
    roles: ['auditor'],
    ok: { status: 200, description: 'the promotion and its events', schema: 'PromotionHistory' },
    errors: READ_PROMOTION,
  },
  'GET /api/v1/audit/events': {
    summary:
      'Audit events, filtered (actor, action, image, digest, stage, promotion, time) and sorted; a cursor stable while events are appended',
    roles: ['auditor'],
    ok: { status: 200, description: 'a page of events', schema: 'AuditEventPage' },
    errors: ['INVALID_ARGUMENT', 'INVALID_SORT'],
  },
  'GET /api/v1/audit/actions': {
    summary: 'The catalogue of audit actions and the fields each carries',
    roles: ['auditor'],
    ok: { status: 200, description: 'every action', schema: 'AuditActions' },
    errors: [],
  },
  'GET /api/v1/audit/events/{seq}': {
    summary: 'One audit event by sequence number',
    roles: ['auditor'],
    ok: { status: 200, description: 'the event', schema: 'AuditEvent' },
    errors: ['NOT_FOUND'],
  },
  'GET /api/v1/audit/export': {
    summary: 'The filtered events as JSON lines or CSV, streamed (any size)',
    roles: ['auditor'],
    ok: { status: 200, description: 'application/x-ndjson or text/csv, as an attachment', media: 'application/octet-stream' },
    errors: ['INVALID_ARGUMENT'],
  },
  'GET /api/v1/audit/verify': {
    summary: 'Walk the whole chain and its signed checkpoints: ok, or the first bad event and why',
    roles: ['auditor'],
    ok: { status: 200, description: 'the verification (ok false names the first bad event)', schema: 'AuditVerification' },
    errors: [],
  },
  'GET /api/v1/audit/checkpoints': {
    summary: 'Signed checkpoints of the chain (size, head, time, key)',
    roles: ['auditor'],
    ok: { status: 200, description: 'every checkpoint', schema: 'CheckpointList' },
    errors: [],
  },
  'POST /api/v1/audit/checkpoints': {
    summary: 'Sign a checkpoint of the chain now (admins)',
    roles: ['admin'],
    ok: { status: 201, description: 'the checkpoint', schema: 'Checkpoint' },
    errors: ['KEY_MISSING', 'CHECKPOINT_INVALID'],
  },
  'GET /api/v1/audit/checkpoints/{id}/signature': {
    summary: 'A checkpoint as its signed OpenPGP message (gpg --decrypt checks it)',
    roles: ['auditor'],
    ok: { status: 200, description: 'the signed checkpoint', media: 'application/octet-stream' },
    errors: ['NOT_FOUND'],
  },
  'POST /api/v1/channels/{name}/bundles': {
    summary: "Low side: export the channel's waiting promotions as a bundle (a job; follow it at /bundle-jobs/{id})",
    roles: ['operator'],
    ok: { status: 202, description: 'the export job, queued', schema: 'BundleJob' },
    errors: ['CHANNEL_UNKNOWN', 'INVALID_ARGUMENT', 'BUNDLE_NOTHING_TO_EXPORT', 'BUNDLE_EXPORT_BUSY', 'QUEUE_UNAVAILABLE'],
  },
  'GET /api/v1/bundle-jobs/{id}': {
    summary: 'An export or import job: state, bytes, and once completed the bundle or the import with its receipt',
    roles: ['operator', 'auditor'],
    ok: { status: 200, description: 'the job', schema: 'BundleJob' },
    errors: ['NOT_FOUND'],
  },
  'GET /api/v1/bundle-jobs/{id}/events': {
    summary: 'Server-sent events: the job each time it changes, until it completes or fails',
    roles: ['operator', 'auditor'],
    ok: { status: 200, description: 'an event stream of `bundle-job` events (BundleJob)', media: 'text/event-stream' },
    errors: ['NOT_FOUND'],
  },
  'PUT /api/v1/bundles/uploads/{name}': {
    summary: 'High side: upload one volume of a bundle (the raw bytes, streamed; any size), to import next',
    roles: ['operator'],
    ok: { status: 200, description: 'stored', schema: 'Upload' },
    errors: ['INVALID_ARGUMENT', 'BUNDLE_WRITE_FAILED'],
  },
  'POST /api/v1/bundles/import': {
    summary: 'High side: import uploaded volumes (a job; every check first; the volumes are removed when it ends)',
    roles: ['operator'],
    ok: { status: 202, description: 'the import job, started', schema: 'BundleJob' },
    errors: ['INVALID_ARGUMENT', 'BUNDLE_IMPORT_BUSY', 'CHANNEL_UNKNOWN'],
  },
  'GET /api/v1/bundles/{id}/receipt': {
    summary: 'High side: the signed receipt of an import, to carry back to the low side',
    roles: ['operator'],
    ok: { status: 200, description: 'the receipt file', media: 'application/octet-stream' },
    errors: ['NOT_FOUND'],
  },
  'GET /api/v1/bundles': {
    summary: 'The bundles this side exported or imported, with volumes, images and receipt times',
    roles: ['operator', 'auditor'],
    ok: { status: 200, description: 'every bundle', schema: 'BundleList' },
    errors: [],
  },
  'GET /api/v1/bundles/{id}': {
    summary: 'One bundle',
    roles: ['operator', 'auditor'],
    ok: { status: 200, description: 'the bundle', schema: 'Bundle' },
    errors: ['NOT_FOUND'],
  },
  'GET /api/v1/bundles/{id}/volumes/{name}': {
    summary: 'Low side: download one volume of an exported bundle',
    roles: ['operator'],
    ok: { status: 200, description: 'the volume file', media: 'application/octet-stream' },
    errors: ['NOT_FOUND'],
  },
};
