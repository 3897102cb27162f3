/**
 * Every action an audit event may name, what it records and the fields it
 * carries: the columns it fills besides actor, role and time, and the keys
 * of its details. Events are appended with these names only (AuditInput's
 * type), auditors filter by them (an unknown name is refused, not answered
 * with nothing), and GET /api/v1/audit/actions and the README publish them.
 */
export const AUDIT_ACTIONS = {
  'config.loaded': { what: 'a process loaded its configuration', columns: [], details: ['path', 'sha256'] },
  'key.loaded': { what: 'a stage public key was loaded', columns: ['stage'], details: ['fingerprint'] },
  'token.created': { what: 'an API token was minted', columns: [], details: ['tokenId', 'user', 'roles'] },
  'token.revoked': { what: 'API tokens were revoked', columns: [], details: ['tokenId', 'user', 'count'] },
  'auth.refused': { what: 'a request without a valid token', columns: ['requestId'], details: ['route', 'reason'] },
  'auth.forbidden': { what: 'a token whose roles do not allow the route', columns: ['requestId'], details: ['route', 'needs'] },
  'request.refused': {
    what: 'an API request refused with an error code',
    columns: ['requestId'],
    details: ['route', 'status', 'code', 'message'],
  },
  'promotion.requested': {
    what: 'a promotion was requested (the tag resolved to its digest)',
    columns: ['promotionId', 'stage', 'image', 'digest', 'requestId'],
    details: ['requested', 'source', 'target', 'from', 'to', 'reason', 'approvalsRequired', 'release'],
  },
  'release.requested': {
    what: 'a release was requested: its images, each a promotion of its own (their promotion.requested events name the release)',
    columns: ['stage', 'requestId'],
    details: ['releaseId', 'name', 'from', 'to', 'reason', 'promotions'],
  },
  'release.request.refused': {
    what: 'a release request was refused (nothing of it was recorded)',
    columns: ['stage', 'requestId'],
    details: ['name', 'code', 'message'],
  },
  'promotion.approved': {
    what: 'an approval was recorded',
    columns: ['promotionId', 'stage', 'image', 'digest', 'requestId'],
    details: ['comment'],
  },
  'promotion.retried': {
    what: 'a failed promotion was retried',
    columns: ['promotionId', 'stage', 'image', 'digest', 'requestId'],
    details: ['previousError'],
  },
  'promotion.state': {
    what: 'a promotion changed state: approved, queued, verifying, copying, signing, published, completed, exporting, exported, imported, rejected, cancelled, or failed (a failure is this action with to=failed and its code)',
    columns: ['promotionId', 'stage', 'image', 'digest', 'requestId'],
    details: ['from', 'to', 'code', 'message', 'step', 'reason', 'bundleId', 'sequence', 'channel', 'approvals'],
  },
  'promotion.requeued': {
    what: 'the reconciler enqueued a promotion the queue had lost',
    columns: ['promotionId', 'stage', 'image', 'digest'],
    details: ['attempt', 'state'],
  },
  'promotion.imported': {
    what: 'the high side recorded a promotion a bundle carried, with its approvals',
    columns: ['promotionId', 'stage', 'image', 'digest', 'requestId'],
    details: ['bundleId', 'channel', 'sequence', 'sender', 'requester', 'requestedAt', 'reason', 'approvals', 'source', 'release'],
  },
  'promotion.request.refused': {
    what: 'a promotion request was refused',
    columns: ['stage', 'image', 'requestId'],
    details: ['code', 'message'],
  },
  'promotion.approve.refused': { what: 'an approval was refused', columns: ['requestId'], details: ['code', 'message'] },
  'promotion.reject.refused': { what: 'a rejection was refused', columns: ['requestId'], details: ['code', 'message'] },
  'promotion.cancel.refused': { what: 'a cancellation was refused', columns: ['requestId'], details: ['code', 'message'] },
  'promotion.retry.refused': { what: 'a retry was refused', columns: ['requestId'], details: ['code', 'message'] },
  'step.started': {
    what: 'a step of a promotion or an import began (verify, copy, sign, publish; staged, pushed for imports)',
    columns: ['promotionId', 'stage', 'image', 'digest'],
    details: ['step', 'attempt'],
  },
  'step.finished': {
    what: 'a step ended, with what it did (keys that verified, bytes, signatures)',
    columns: ['promotionId', 'stage', 'image', 'digest'],
    details: ['step', 'attempt', 'keys', 'signatures', 'bytes'],
  },
  'bundle.export.started': {
    what: 'an export job was planned: its bundle id, sequence and images fixed',
    columns: ['stage', 'requestId'],
    details: ['jobId', 'bundleId', 'channel', 'sequence', 'images', 'resent', 'runner'],
  },
  'bundle.exported': {
    what: 'a bundle was written',
    columns: ['stage', 'requestId'],
    details: ['jobId', 'bundleId', 'channel', 'sequence', 'volumes', 'bytes', 'images', 'full', 'blobsLeftOut', 'resent'],
  },
  'bundle.export.failed': {
    what: 'an export failed or was refused',
    columns: ['requestId'],
    details: ['jobId', 'channel', 'sequence', 'code', 'message'],
  },
  'bundle.resend': {
    what: 'a promotion exported but never confirmed by a receipt goes into the next bundle again, and why (named by the operator, or no receipt after resendAfterHours)',
    columns: ['promotionId', 'stage', 'image', 'digest', 'requestId'],
    details: ['channel', 'reason', 'jobId', 'bundleId', 'sequence', 'exportedAt'],
  },
  'bundle.volumes.rewritten': {
    what: 'volumes of a format-2 bundle were written again (media lost or damaged): same index and entries, new ciphertext',
    columns: ['stage', 'requestId'],
    details: ['bundleId', 'channel', 'sequence', 'volumes'],
  },
  'bundle.import.partial': {
    what: 'the images of a format-2 bundle whose entries were all in the volumes given were imported; the others wait for the volumes named',
    columns: ['stage', 'requestId'],
    details: ['bundleId', 'channel', 'sequence', 'imported', 'waiting', 'missingVolumes'],
  },
  'bundle.imported': {
    what: 'a bundle was imported on the high side',
    columns: ['stage', 'requestId'],
    details: ['bundleId', 'channel', 'sequence', 'images', 'sender'],
  },
  'bundle.import.refused': {
    what: 'an import was refused (nothing landed)',
    columns: ['requestId'],
    details: ['code', 'message', 'bundleId', 'files'],
  },
  'bundle.receipt': {
    what: 'a receipt from the high side was taken back',
    columns: ['requestId'],
    details: ['bundleId', 'channel', 'sequence', 'importer', 'promotions', 'blobs'],
  },
  'bundle.receipt.refused': {
    what: 'a receipt was refused (nothing changed)',
    columns: ['requestId'],
    details: ['code', 'message', 'channel'],
  },
  'audit.checkpoint': {
    what: 'a signed checkpoint of the chain was written',
    columns: [],
    details: ['id', 'size', 'head', 'keyFingerprint'],
  },
} as const satisfies Record<string, { what: string; columns: readonly string[]; details: readonly string[] }>;

export type AuditAction = keyof typeof AUDIT_ACTIONS;

export const isAuditAction = (s: string): s is AuditAction => Object.prototype.hasOwnProperty.call(AUDIT_ACTIONS, s);
