import { AirlockError } from '@airlock/common';
import type { CommandOption } from './fast-args';

/** The flags of `airlock copy`, as the command and its fast path (fast-commands.ts) both read them. */
export interface CopyFlags {
  srcInsecure?: boolean;
  destInsecure?: boolean;
  srcCertDir?: string;
  destCertDir?: string;
  concurrency?: number;
  list?: string;
  quiet?: boolean;
  json?: boolean;
  /** false with --no-attachments: leave cosign's .sig, .att and .sbom of the image behind. */
  attachments?: boolean;
}

export function parseConcurrency(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 64)
    throw new AirlockError('INVALID_ARGUMENT', '--concurrency takes a whole number from 1 to 64');
  return n;
}

export const COPY_OPTIONS: Record<keyof CopyFlags, CommandOption> = {
  srcInsecure: { flags: '--src-insecure', description: 'allow plain HTTP or unverified TLS for the source registry only' },
  destInsecure: { flags: '--dest-insecure', description: 'allow plain HTTP or unverified TLS for the destination registry only' },
  srcCertDir: {
    flags: '--src-cert-dir <dir>',
    description:
      'for the source registry: trust the CAs in DIR (*.crt), present its client certificate (NAME.cert + NAME.key); default certs.d/<host>/',
  },
  destCertDir: {
    flags: '--dest-cert-dir <dir>',
    description:
      'for the destination registry: trust the CAs in DIR (*.crt), present its client certificate (NAME.cert + NAME.key); default certs.d/<host>/',
  },
  concurrency: { flags: '--concurrency <n>', description: 'blobs transferred at once (default 4)', parse: parseConcurrency },
  list: { flags: '--list <file>', description: 'copy every "SRC DST" pair in FILE (one per line, # comments) with shared connections' },
  quiet: { flags: '-q, --quiet', description: 'no progress output' },
  json: {
    flags: '--json',
    description: 'print one JSON result per image (digest, bytes moved, blobs copied/skipped/mounted, attachments)',
  },
  attachments: {
    flags: '--no-attachments',
    description:
      "leave behind what is attached to the image (cosign's sha256-<hex>.sig, .att and .sbom), which is copied with it by default",
  },
};

export const COPY_DESCRIPTION =
  'Copy an image (or an image index with every platform) between registries by digest. Prints "DIGEST DESTINATION" for each image copied. Exit 0 only when every copy landed.';
