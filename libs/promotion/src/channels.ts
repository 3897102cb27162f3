import { dirname, join } from 'node:path';
import { AirlockError } from '@airlock/common';
import { ChannelConfig, readSecret } from '@airlock/common/config';
import { KeyUnlocker, readPrivateKeyFile, readPublicKeyFiles } from '@airlock/signing';
import type { Key, PrivateKey } from 'openpgp';
import { StageCatalog } from './stage-catalog';

/** A configured bundle channel with its keys resolved on demand. */
export class Channel {
  constructor(
    readonly config: ChannelConfig,
    private readonly catalog: StageCatalog,
  ) {}

  get name(): string {
    return this.config.name;
  }

  /** Folder bundles are written to (low side) and receipts land in. */
  get dir(): string {
    const l = this.catalog.loaded;
    return this.config.dir ? l.resolvePath(this.config.dir) : join(dirname(l.resolvePath(l.config.database)), 'bundles', this.name);
  }

  private keyFiles(files: string[], what: string): Promise<Key[]> {
    return readPublicKeyFiles(
      files.map((f) => this.catalog.loaded.resolvePath(f)),
      `channel ${this.name} ${what}`,
    );
  }

  /** High side public keys: bundles are encrypted to them, receipts are signed by them. */
  recipients(): Promise<Key[]> {
    return this.keyFiles(this.config.recipients, 'recipient key');
  }

  /** Pinned sender keys (high side). */
  trustedSenders(): Promise<Key[]> {
    return this.keyFiles(this.config.trustedSenders, 'trusted sender key');
  }

  private async unlock(k: ChannelConfig['sender'], fallbackStage: string, what: string, via?: KeyUnlocker): Promise<PrivateKey> {
    if (!k) return this.catalog.signingKey(fallbackStage, via);
    return readPrivateKeyFile(
      this.catalog.loaded.resolvePath(k.privateKey),
      () => readSecret(k.passphrase, `channel ${this.name} ${what} passphrase`, this.catalog.loaded.resolvePath),
      `channel ${this.name} ${what}`,
      via,
    );
  }

  /** The key that signs bundles (low side): the channel's sender key, or the source stage key. */
  senderKey(): Promise<PrivateKey> {
    return this.unlock(this.config.sender, this.config.from, 'sender key');
  }

  /** The key that decrypts bundles and signs receipts (high side): the channel's import key, or the target stage key. */
  importKey(via?: KeyUnlocker): Promise<PrivateKey> {
    return this.unlock(this.config.importKey, this.config.to, 'import key', via);
  }
}

/** The channel named `name`, or CHANNEL_UNKNOWN. */
export function channelOf(catalog: StageCatalog, name: string): Channel {
  const c = catalog.loaded.config.channels.find((x) => x.name === name);
  if (!c)
    throw new AirlockError(
      'CHANNEL_UNKNOWN',
      `no channel named ${JSON.stringify(String(name).slice(0, 64))}; known: ${catalog.loaded.config.channels.map((x) => x.name).join(', ') || 'none'}`,
    );
  return new Channel(c, catalog);
}

/**
 * The stages on the other side of the air gap from this instance, each with
 * the channel that reaches it: on the low side a channel's target (transport
 * `bundle`), on the high side a channel's source (its target is a registry
 * stage here). This instance never reaches their registries over the network,
 * so readiness does not ask them.
 */
export function stagesAcrossTheGap(catalog: StageCatalog): Map<string, string> {
  const across = new Map<string, string>();
  for (const c of catalog.loaded.config.channels) {
    const to = catalog.get(c.to);
    across.set(to.config.transport === 'bundle' ? c.to : c.from, c.name);
  }
  return across;
}
