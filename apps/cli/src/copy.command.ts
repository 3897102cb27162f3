import { Command, CommandRunner, Option } from 'nest-commander';
import { COPY_DESCRIPTION, COPY_OPTIONS, CopyFlags, parseConcurrency } from './copy-options';
import { runCopy } from './copy-run';

@Command({ name: 'copy', arguments: '[src] [dst]', description: COPY_DESCRIPTION })
export class CopyCommand extends CommandRunner {
  run(params: string[], flags: CopyFlags): Promise<void> {
    return runCopy(params, flags);
  }

  @Option(COPY_OPTIONS.srcInsecure)
  parseSrcInsecure(): boolean {
    return true;
  }

  @Option(COPY_OPTIONS.destInsecure)
  parseDestInsecure(): boolean {
    return true;
  }

  @Option(COPY_OPTIONS.srcCertDir)
  parseSrcCertDir(v: string): string {
    return v;
  }

  @Option(COPY_OPTIONS.destCertDir)
  parseDestCertDir(v: string): string {
    return v;
  }

  @Option(COPY_OPTIONS.concurrency)
  parseConcurrency(v: string): number {
    return parseConcurrency(v);
  }

  @Option(COPY_OPTIONS.list)
  parseList(v: string): string {
    return v;
  }

  @Option(COPY_OPTIONS.quiet)
  parseQuiet(): boolean {
    return true;
  }

  @Option(COPY_OPTIONS.json)
  parseJson(): boolean {
    return true;
  }

  @Option(COPY_OPTIONS.attachments)
  parseNoAttachments(): boolean {
    return false;
  }
}
