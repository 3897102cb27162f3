import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';
import { AirlockError, Sensitive } from '@airlock/common';

/**
 * A key passphrase, never from an argument: the environment variable named
 * `envName`, or a prompt (without echo) when standard input is a terminal.
 */
export async function readPassphrase(envName: string, prompt: string, confirm = false): Promise<Sensitive<string>> {
  const v = process.env[envName];
  if (v) return new Sensitive(v);
  if (!process.stdin.isTTY) {
    throw new AirlockError('KEY_PASSPHRASE', `no passphrase: set ${envName} (or run on a terminal to be asked)`);
  }
  const first = await ask(prompt);
  if (confirm && (await ask('again: ')) !== first) throw new AirlockError('KEY_PASSPHRASE', 'the two passphrases differ');
  if (!first) throw new AirlockError('KEY_PASSPHRASE', 'an empty passphrase is not allowed');
  return new Sensitive(first);
}

function ask(prompt: string): Promise<string> {
  let muted = false;
  const out = new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (!muted) process.stderr.write(chunk);
      cb();
    },
  });
  const rl = createInterface({ input: process.stdin, output: out, terminal: true });
  return new Promise((resolve) => {
    rl.question(prompt, (answer) => {
      rl.close();
      process.stderr.write('\n');
      resolve(answer);
    });
    muted = true;
  });
}
