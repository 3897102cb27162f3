import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import { AirlockError } from '@airlock/common';
import type { KeyType } from '@airlock/signing';
import { lazy } from './lazy';
import { CommandGroup } from './command-group';
import type * as openpgp from 'openpgp';
import { readPassphrase } from './passphrase';

const KEY_TYPES: KeyType[] = ['ed25519', 'rsa3072', 'rsa4096'];

const KEY_FORMATS = ['openpgp', 'sigstore'];

@SubCommand({
  name: 'generate',
  description:
    'Generate a stage key pair: DIR/NAME.key (private, passphrase-protected) and DIR/NAME.pub; OpenPGP (simple signing) or --format sigstore (cosign)',
})
export class KeysGenerateCommand extends CommandRunner {
  async run(
    _p: string[],
    o: { name?: string; out?: string; type?: KeyType; format?: string; passphraseEnv?: string; email?: string; force?: boolean },
  ): Promise<void> {
    if (!o.name || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(o.name))
      throw new AirlockError('INVALID_ARGUMENT', '--name is required (letters, digits, . _ -)');
    if (!o.out) throw new AirlockError('INVALID_ARGUMENT', '--out DIR is required');
    const priv = join(o.out, `${o.name}.key`);
    const pub = join(o.out, `${o.name}.pub`);
    if (!o.force && (existsSync(priv) || existsSync(pub)))
      throw new AirlockError('INVALID_ARGUMENT', `${priv} or ${pub} exists; refusing to overwrite a key (use --force)`);
    if (o.format === 'sigstore' && o.type)
      throw new AirlockError('INVALID_ARGUMENT', '--type is for OpenPGP keys; a sigstore key is ECDSA P-256');
    const passphrase = await readPassphrase(o.passphraseEnv ?? 'AIRLOCK_KEY_PASSPHRASE', `passphrase for ${o.name}: `, true);
    if (o.format === 'sigstore') {
      // the encrypted format cosign and containers/image read (ENCRYPTED SIGSTORE PRIVATE KEY)
      const g = lazy.signing().generateSigstoreKeyPair(passphrase);
      mkdirSync(o.out, { recursive: true });
      writeFileSync(priv, g.privatePem, { mode: 0o600 });
      writeFileSync(pub, g.publicPem, { mode: 0o644 });
      process.stdout.write(`${g.fingerprint} ${pub}\n`);
      return;
    }
    const k = await lazy.signing().generateKeyPair({ name: `airlock ${o.name}`, email: o.email, type: o.type ?? 'ed25519', passphrase });
    mkdirSync(o.out, { recursive: true });
    writeFileSync(priv, k.privateArmored, { mode: 0o600 });
    writeFileSync(pub, k.publicArmored, { mode: 0o644 });
    process.stdout.write(`${k.fingerprint} ${pub}\n`);
  }

  @Option({ flags: '--name <name>', description: 'key name (file names and user id)' })
  parseName(v: string): string {
    return v;
  }
  @Option({ flags: '--out <dir>', description: 'folder to write NAME.key and NAME.pub into' })
  parseOut(v: string): string {
    return v;
  }
  @Option({ flags: '--type <type>', description: 'ed25519 (default), rsa3072 or rsa4096' })
  parseType(v: string): KeyType {
    if (!KEY_TYPES.includes(v as KeyType)) throw new AirlockError('INVALID_ARGUMENT', `--type must be one of ${KEY_TYPES.join(', ')}`);
    return v as KeyType;
  }
  @Option({
    flags: '--format <format>',
    description: 'openpgp (default: simple signing) or sigstore (cosign: ECDSA P-256, in the encrypted format cosign reads)',
  })
  parseFormat(v: string): string {
    if (!KEY_FORMATS.includes(v)) throw new AirlockError('INVALID_ARGUMENT', `--format must be one of ${KEY_FORMATS.join(', ')}`);
    return v;
  }
  @Option({ flags: '--email <email>', description: 'e-mail in the user id' })
  parseEmail(v: string): string {
    return v;
  }
  @Option({
    flags: '--passphrase-env <var>',
    description: 'environment variable holding the passphrase (default AIRLOCK_KEY_PASSPHRASE); asked on a terminal otherwise',
  })
  parsePassphraseEnv(v: string): string {
    return v;
  }
  @Option({ flags: '--force', description: 'overwrite existing key files' })
  parseForce(): boolean {
    return true;
  }
}

@SubCommand({
  name: 'show',
  arguments: '<file>',
  description: 'Show a key: fingerprint, type, user ids, creation and expiry (never secret material)',
})
export class KeysShowCommand extends CommandRunner {
  async run([file]: string[], o: { json?: boolean }): Promise<void> {
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (e) {
      throw new AirlockError('INVALID_ARGUMENT', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code}`);
    }
    let keys: openpgp.Key[];
    const text = bytes.toString('latin1');
    const { readPublicKeys, describeKey, isSigstoreKeyFile, readSigstorePublicKey } = lazy.signing();
    if (isSigstoreKeyFile(bytes)) {
      // a sigstore key: its kind and fingerprint (SHA-256 of the DER public key); a private key is not unlocked to show it
      const isPrivate = /ENCRYPTED (SIGSTORE|COSIGN) PRIVATE KEY/.test(text);
      const info = isPrivate
        ? { kind: 'sigstore', type: 'ecdsa-p256', private: true, fingerprint: null }
        : { kind: 'sigstore', type: 'ecdsa-p256', private: false, fingerprint: readSigstorePublicKey(bytes, file).fingerprint };
      if (o.json) process.stdout.write(JSON.stringify(info) + '\n');
      else
        process.stdout.write(
          [
            `kind:        sigstore (cosign)`,
            `type:        ECDSA P-256${isPrivate ? ' (private, encrypted; its .pub carries the fingerprint)' : ''}`,
            ...(info.fingerprint ? [`fingerprint: ${info.fingerprint}`] : []),
            '',
          ].join('\n'),
        );
      return;
    }
    if (text.includes('PRIVATE KEY BLOCK')) keys = [await lazy.openpgp().readPrivateKey({ armoredKey: bytes.toString('utf8') })];
    else keys = await readPublicKeys(bytes);
    for (const k of keys) {
      const info = await describeKey(k);
      if (o.json) process.stdout.write(JSON.stringify(info) + '\n');
      else {
        process.stdout.write(
          [
            `kind:        openpgp (simple signing)`,
            `fingerprint: ${info.fingerprint}`,
            `key id:      ${info.keyId}`,
            `type:        ${info.type}${info.hasPrivate ? ' (private)' : ''}`,
            ...info.userIds.map((u) => `user id:     ${u}`),
            `created:     ${info.created}`,
            `expires:     ${info.expires ?? 'never'}`,
            '',
          ].join('\n'),
        );
      }
    }
  }
  @Option({ flags: '--json', description: 'one JSON object per key' })
  parseJson(): boolean {
    return true;
  }
}

@Command({ name: 'keys', description: 'Stage keys: generate, show', subCommands: [KeysGenerateCommand, KeysShowCommand] })
export class KeysCommand extends CommandGroup {}
