import type { Key } from 'openpgp';
import { AuditLog, StoredCheckpoint, createCheckpoint } from '@airlock/audit';
import { StageCatalog } from '@airlock/promotion';
import { readPublicKeys } from '@airlock/signing';

/** The audit key (a stage key, by config) that signs checkpoints, and checkpoint creation. */
export class AuditKeys {
  constructor(
    private readonly catalog: StageCatalog,
    private readonly audit: AuditLog,
  ) {}

  async publicKeys(): Promise<Key[]> {
    const s = this.catalog.auditStage();
    return s.publicKeyArmored ? readPublicKeys(s.publicKeyArmored) : [];
  }

  /** Signs and stores a checkpoint of the chain as it is now, and records that it did. */
  async checkpoint(): Promise<StoredCheckpoint> {
    const key = await this.catalog.signingKey(this.catalog.auditStage().name);
    const c = await createCheckpoint(this.audit.db, key);
    this.audit.append({
      actor: 'airlock',
      role: 'system',
      action: 'audit.checkpoint',
      details: { id: c.id, size: c.size, head: c.head, keyFingerprint: c.keyFingerprint },
    });
    return c;
  }
}
