import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommandRunner, Option } from 'nest-commander';
import { AirlockError } from '@airlock/common';
import { lazy } from './lazy';
import { configPath, CONFIG_OPTION } from './config-path';

const POLICY_FORMATS = [
  'policy-json',
  'registries-d',
  'machineconfig',
  'portieris',
  'kyverno',
  'policy-controller',
  'connaisseur',
  'openshift-clusterimagepolicy',
  'all',
];

@Command({
  name: 'policy',
  description:
    'Write the files that make a cluster accept only images signed by a stage key: containers policy.json, registries.d, an OpenShift MachineConfig, a Portieris ClusterImagePolicy; for a stage with a sigstore key, Kyverno, policy-controller, Connaisseur and OpenShift ClusterImagePolicy',
})
export class PolicyCommand extends CommandRunner {
  async run(_p: string[], o: { stage?: string; format?: string; dialect?: string; out?: string; config?: string }): Promise<void> {
    if (!o.stage) throw new AirlockError('INVALID_ARGUMENT', '--stage NAME is required');
    const { StageCatalog, renderPolicyFiles } = lazy.promotion();
    const catalog = await StageCatalog.create(lazy.config().loadConfig(configPath(o.config)));
    // without --out one document goes to standard output: policy.json unless a format is named (as the API's default);
    // with --out every file of the format, or of all formats
    const files = renderPolicyFiles(catalog, o.stage, o.format ?? (o.out ? 'all' : 'policy-json'), o.dialect);
    if (!o.out) {
      if (o.format === 'all') throw new AirlockError('INVALID_ARGUMENT', `--format all writes ${files.length} files; give --out DIR`);
      process.stdout.write(files[0].content);
      if (files.length > 1)
        process.stderr.write(
          `airlock: with --out DIR this format also writes ${files
            .slice(1)
            .map((f) => f.name)
            .join(', ')}\n`,
        );
      return;
    }
    mkdirSync(o.out, { recursive: true });
    for (const f of files) {
      writeFileSync(join(o.out, f.name), f.content, { mode: f.name.endsWith('.sh') ? 0o755 : 0o644 });
      process.stdout.write(`${join(o.out, f.name)}\n`);
    }
  }

  @Option({ flags: '--stage <name>', description: 'the stage whose key clusters must trust' })
  parseStage(v: string): string {
    return v;
  }
  @Option({
    flags: '--format <format>',
    description: `${POLICY_FORMATS.join(' | ')} (default: policy-json to standard output, all with --out)`,
  })
  parseFormat(v: string): string {
    return v;
  }
  @Option({
    flags: '--dialect <dialect>',
    description:
      'both (default: every key the stage has) | simple (OpenPGP only, for a containers/image without sigstore) | sigstore (cosign only)',
  })
  parseDialect(v: string): string {
    return v;
  }
  @Option({
    flags: '--out <dir>',
    description: "write the files into DIR (without it, the format's main document goes to standard output)",
  })
  parseOut(v: string): string {
    return v;
  }
  @Option(CONFIG_OPTION)
  parseConfig(v: string): string {
    return v;
  }
}
