import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parse } from 'yaml';
import { validateConfig } from '@airlock/common/config';

const root = join(__dirname, '..', '..');

describe('deployment files', () => {
  it('docker-compose.yml runs the API and workers from the Dockerfile beside Redis (AOF, noeviction) and registries, with health checks', () => {
    const c = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8'));
    expect(c.services.redis.command.join(' ')).toMatch(/--appendonly yes.*--maxmemory-policy noeviction/);
    for (const s of ['airlock-api', 'airlock-worker']) {
      expect(c.services[s].build).toBe('.');
      expect(c.services[s].volumes.join(' ')).toMatch(/airlock-data:\/var\/lib\/airlock/);
    }
    expect(c.services['airlock-api'].healthcheck.test.join(' ')).toContain('/health/ready');
    expect(c.services['airlock-api'].command).toEqual(['api']);
    expect(c.services['airlock-worker'].command).toEqual(['worker']);
    expect(Object.keys(c.volumes)).toEqual(expect.arrayContaining(['redis-data', 'airlock-data']));
  });

  it('passes docker-compose config (no Docker engine runs here, so the file is checked, not started)', () => {
    expect(() => execFileSync('docker-compose', ['-f', join(root, 'docker-compose.yml'), 'config', '-q'], { stdio: 'pipe' })).not.toThrow();
  });

  it('the configuration it mounts is valid', () => {
    expect(() => validateConfig(parse(readFileSync(join(root, 'deploy', 'airlock.yaml'), 'utf8')))).not.toThrow();
  });

  it('the Dockerfile builds the same artifacts as npm run build and runs the same entry', () => {
    const d = readFileSync(join(root, 'Dockerfile'), 'utf8');
    expect(d).toMatch(/npm run build/);
    expect(d).toMatch(/COPY migrations migrations/);
    expect(d).toMatch(/bin\/airlock\.js/);
    expect(d).toMatch(/USER airlock/);
    // every script the build runs is in the build stage, and the addon's source with it
    const build = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: { build: string } }).scripts.build;
    const scripts = build.match(/scripts\/[\w.-]+/g) ?? [];
    expect(scripts).toEqual(expect.arrayContaining(['scripts/gen-api-types.js', 'scripts/build-native.sh']));
    for (const f of scripts) expect(d).toContain(`COPY ${f} ${f}`);
    expect(d).toContain('COPY native native');
    expect(d).toMatch(/libssl-dev/);
  });
});
