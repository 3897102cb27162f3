import { copyFileSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { writeConfig } from '../support/airlock-config';
import { airlock } from '../support/cli';

/**
 * `airlock config check` reads what the processes would read: every key file
 * and secret, each private key unlocked, each public key its private key's
 * own; it names every problem by its field, not only the first.
 */
describe('config check reads every key and secret the processes would', () => {
  const dir = mkdtempSync(join(tmpdir(), 'airlock-config-check-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('passes a complete configuration, and lists every missing file, unset or wrong passphrase and foreign public key by field', async () => {
    const cfg = await writeConfig(dir, [
      { name: 'dev', registry: '127.0.0.1:9' },
      { name: 'qa', registry: '127.0.0.1:9', from: [{ stage: 'dev', mapping: [{ from: '127.0.0.1:9/a/*', to: '127.0.0.1:9/b/*' }] }] },
      {
        name: 'prod',
        registry: '127.0.0.1:9',
        transport: 'bundle',
        withKey: false,
        from: [{ stage: 'qa', mapping: [{ from: '127.0.0.1:9/b/*', to: '127.0.0.1:9/c/*' }] }],
      },
    ]);
    const doc = parse(readFileSync(cfg.path, 'utf8'));
    copyFileSync(join(dir, 'keys', 'dev.pub'), join(dir, 'keys', 'high.pub'));
    doc.channels = [{ name: 'qa-to-prod', from: 'qa', to: 'prod', encrypt: true, recipients: ['keys/high.pub'] }];
    writeFileSync(cfg.path, stringify(doc));
    const ok = await airlock(['config', 'check', '--config', cfg.path], { env: cfg.env });
    expect([ok.code, ok.stderr]).toEqual([0, '']);
    expect(ok.stdout).toMatch(/valid, keys and secrets read \(3 stages, 1 channel/);

    // what serve would die on, one at a time today: now all at once, each by its field
    unlinkSync(join(dir, 'keys', 'high.pub'));
    doc.stages[1].signing.publicKey = 'keys/dev.pub';
    doc.stages[1].from[0].trustedKeys = ['keys/nowhere.pub'];
    writeFileSync(cfg.path, stringify(doc));
    const env = { ...cfg.env, AIRLOCK_TEST_DEV_PASSPHRASE: '' };
    const bad = await airlock(['config', 'check', '--config', cfg.path], { env });
    expect(bad.code).toBe(2);
    const lines = bad.stderr.trim().split('\n');
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^stages\[0\]\.signing\.passphrase: .*AIRLOCK_TEST_DEV_PASSPHRASE is not set \(CONFIG_INVALID\)$/),
        expect.stringMatching(
          /^stages\[1\]\.signing\.publicKey: keys\/dev\.pub is key [0-9A-F]+, not the private key's own .*\(KEY_INVALID\)$/,
        ),
        expect.stringMatching(/^stages\[1\]\.from\[0\]\.trustedKeys\[0\]: cannot read .*nowhere\.pub: ENOENT \(KEY_MISSING\)$/),
        expect.stringMatching(/^channels\[0\]\.recipients\[0\]: cannot read .*high\.pub: ENOENT \(KEY_MISSING\)$/),
        expect.stringMatching(/CONFIG_INVALID.*4 problems with keys and secrets/),
      ]),
    );

    // a wrong passphrase is found by unlocking the key, as a signer would
    const wrong = await airlock(['config', 'check', '--config', cfg.path], { env: { ...cfg.env, AIRLOCK_TEST_QA_PASSPHRASE: 'not-it' } });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/^stages\[1\]\.signing\.privateKey: .*\(KEY_PASSPHRASE\)$/m);

    // the processes run the same check before they start anything: they stop at boot, naming the field
    for (const cmd of ['serve', 'api', 'worker']) {
      const boot = await airlock([cmd, '--config', cfg.path], {
        env: { ...cfg.env, AIRLOCK_TEST_QA_PASSPHRASE: 'not-it' },
        timeoutMs: 30_000,
      });
      expect([cmd, boot.code]).toEqual([cmd, 2]);
      expect(boot.stderr).toMatch(/^stages\[1\]\.signing\.privateKey: .*\(KEY_PASSPHRASE\)$/m);
      expect(boot.stderr).toMatch(/CONFIG_INVALID: .*problems? with keys and secrets \(listed above\); nothing started$/m);
    }
  });

  it('names the keys each side of a channel needs: the high side pins a sender and has a key to decrypt with', async () => {
    const d = join(dir, 'high');
    const cfg = await writeConfig(d, [
      { name: 'qa', registry: '127.0.0.1:9', withKey: false },
      {
        name: 'prod',
        registry: '127.0.0.1:9',
        withKey: false,
        from: [{ stage: 'qa', trustedKeys: ['keys/qa.pub'], mapping: [{ from: '127.0.0.1:9/b/*', to: '127.0.0.1:9/c/*' }] }],
      },
    ]);
    const doc = parse(readFileSync(cfg.path, 'utf8'));
    doc.channels = [{ name: 'qa-to-prod', from: 'qa', to: 'prod', encrypt: true }];
    writeFileSync(cfg.path, stringify(doc));
    const r = await airlock(['config', 'check', '--config', cfg.path], { env: cfg.env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^channels\[0\]\.importKey: no import key, and stage prod \(the default\) has no signing key \(KEY_MISSING\)$/m,
    );
    expect(r.stderr).toMatch(/^channels\[0\]\.trustedSenders: the high side of a channel pins at least one sender key \(KEY_MISSING\)$/m);
    expect(r.stderr).toMatch(/^stages\[1\]\.from\[0\]\.trustedKeys\[0\]: cannot read/m);
  });

  it('reads the sigstore keys: a stage key unlocked and matched to its public key, pinned keys of either dialect', async () => {
    const d = join(dir, 'sigstore');
    const cfg = await writeConfig(d, [
      { name: 'dev', registry: '127.0.0.1:9', sigstore: true },
      {
        name: 'qa',
        registry: '127.0.0.1:9',
        sigstore: true,
        from: [
          {
            stage: 'dev',
            trustedKeys: ['keys/dev-sigstore.pub', 'keys/dev.pub'],
            mapping: [{ from: '127.0.0.1:9/a/*', to: '127.0.0.1:9/b/*' }],
          },
        ],
      },
    ]);
    const ok = await airlock(['config', 'check', '--config', cfg.path], { env: cfg.env });
    expect([ok.code, ok.stderr]).toEqual([0, '']);

    const doc = parse(readFileSync(cfg.path, 'utf8'));
    doc.stages[1].sigstore.publicKey = 'keys/dev-sigstore.pub';
    writeFileSync(cfg.path, stringify(doc));
    const bad = await airlock(['config', 'check', '--config', cfg.path], {
      env: { ...cfg.env, AIRLOCK_TEST_DEV_SIGSTORE_PASSPHRASE: 'not-it' },
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^stages\[0\]\.sigstore\.privateKey \S+dev-sigstore\.key: wrong passphrase.*\(KEY_PASSPHRASE\)$/m);
    expect(bad.stderr).toMatch(
      /^stages\[1\]\.sigstore\.publicKey: keys\/dev-sigstore\.pub is key [0-9a-f]{64}, not the private key's own .*\(KEY_INVALID\)$/m,
    );
  });
});
