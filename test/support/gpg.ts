import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A throw-away gpg home (real gpg 2.2 from Debian), with its agent stopped on close. */
export class GpgHome {
  readonly dir = mkdtempSync(join(tmpdir(), 'gpg-'));

  get env(): NodeJS.ProcessEnv {
    return { ...process.env, GNUPGHOME: this.dir };
  }

  /** Runs gpg in batch mode; resolves stdout (Buffer), stderr and the exit code. */
  run(
    args: string[],
    input?: Buffer | string,
    extraEnv: NodeJS.ProcessEnv = {},
  ): Promise<{ code: number; stdout: Buffer; stderr: string }> {
    return new Promise((resolve) => {
      const child = execFile(
        'gpg',
        ['--batch', '--yes', '--no-tty', '--pinentry-mode', 'loopback', ...args],
        { env: { ...this.env, ...extraEnv }, encoding: 'buffer', maxBuffer: 64 << 20 },
        (err, stdout, stderr) => {
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout: stdout, stderr: (stderr as Buffer).toString() });
        },
      );
      // gpg may exit before reading its input (or need none): a closed pipe is not an error here
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(input ?? '');
    });
  }

  /** Runs gpg and fails loudly on a non-zero exit. */
  async ok(args: string[], input?: Buffer | string, extraEnv: NodeJS.ProcessEnv = {}): Promise<Buffer> {
    const r = await this.run(args, input, extraEnv);
    if (r.code !== 0) throw new Error(`gpg ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return r.stdout;
  }

  /** Generates a signing key without passphrase; returns its fingerprint. */
  async generate(uid: string, algo = 'ed25519', expire = '0', extra: string[] = []): Promise<string> {
    await this.ok(['--passphrase', '', ...extra, '--quick-gen-key', uid, algo, 'sign', expire]);
    return this.fingerprint(uid);
  }

  async fingerprint(uid: string): Promise<string> {
    const out = (await this.ok(['--with-colons', '--list-keys', uid])).toString();
    const m = /^fpr:::::::::([0-9A-F]{40}):/m.exec(out);
    if (!m) throw new Error(`no fingerprint for ${uid}`);
    return m[1];
  }

  async exportPublic(fpr: string): Promise<Buffer> {
    return this.ok(['--armor', '--export', fpr]);
  }

  close(): void {
    try {
      execFileSync('gpgconf', ['--kill', 'gpg-agent'], { env: this.env, stdio: 'ignore' });
    } catch {
      /* no agent */
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
