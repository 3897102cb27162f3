import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Runs skopeo with the given arguments; returns stdout (throws with stderr on failure). */
export async function skopeo(args: string[], opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  try {
    const { stdout } = await run('skopeo', args, { timeout: opts.timeoutMs ?? 120_000, maxBuffer: 16 << 20, env: opts.env ?? process.env });
    return stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`skopeo ${args.join(' ')} failed: ${err.stderr || err.message}`, { cause: e });
  }
}

/** `skopeo inspect --raw` digest of what a registry serves for a reference (insecure loopback). */
export async function skopeoRawDigest(ref: string): Promise<string> {
  const raw = await run('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${ref}`], {
    encoding: 'buffer',
    maxBuffer: 16 << 20,
  });
  return (
    'sha256:' +
    createHash('sha256')
      .update(raw.stdout as Buffer)
      .digest('hex')
  );
}
