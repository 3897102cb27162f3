import { COPY_OPTIONS, CopyFlags } from './copy-options';
import { INSPECT_OPTIONS, InspectFlags } from './bundle-inspect';
import { EXPORT_OPTIONS, ExportFlags } from './bundle-export';
import { IMPORT_OPTIONS, ImportFlags } from './bundle-import';
import { parseFastArgs } from './fast-args';

const parseCopyArgs = (args: string[]) => parseFastArgs<CopyFlags>(COPY_OPTIONS, args, { min: 0, max: 2 });
const parseInspectArgs = (args: string[]) => parseFastArgs<InspectFlags>(INSPECT_OPTIONS, args, { min: 1, max: Infinity });

describe('the fast paths (copy, bundle inspect, export, import): arguments read from the tables their NestJS commands declare', () => {
  it('reads every option the command declares, by long and short name and with =', () => {
    expect(parseCopyArgs(['--src-insecure', '--dest-insecure', '--concurrency', '8', '-q', '--json', 'a/b', 'c/d'])).toEqual({
      params: ['a/b', 'c/d'],
      flags: { srcInsecure: true, destInsecure: true, concurrency: 8, quiet: true, json: true },
    });
    expect(parseCopyArgs(['--list=pairs.txt', '--quiet', '--concurrency=2'])).toEqual({
      params: [],
      flags: { list: 'pairs.txt', quiet: true, concurrency: 2 },
    });
    expect(parseCopyArgs(['--src-cert-dir', '/s', '--dest-cert-dir=/d', 'a/b', 'c/d'])).toEqual({
      params: ['a/b', 'c/d'],
      flags: { srcCertDir: '/s', destCertDir: '/d' },
    });
    expect(Object.keys(COPY_OPTIONS).sort()).toEqual([
      'attachments',
      'concurrency',
      'destCertDir',
      'destInsecure',
      'json',
      'list',
      'quiet',
      'srcCertDir',
      'srcInsecure',
    ]);
    // --no-X reads as X false, the way commander reads it on the full command line
    expect(parseCopyArgs(['--no-attachments', 'a/b', 'c/d'])).toEqual({ params: ['a/b', 'c/d'], flags: { attachments: false } });
  });

  it('hands help, unknown options, missing values and extra arguments to the full command line', () => {
    for (const args of [['--help'], ['-h', 'a', 'b'], ['--bogus', 'a', 'b'], ['--concurrency'], ['a', 'b', 'c'], ['--list']])
      expect(parseCopyArgs(args)).toBeUndefined();
  });

  it('refuses a bad value with the code the command gives', () => {
    expect(() => parseCopyArgs(['--concurrency', '0', 'a', 'b'])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('reads bundle inspect: its files, --config and --verify; no file, or an unknown option, goes to the full command line', () => {
    expect(parseInspectArgs(['a.001.zip', 'a.002.zip', '--config=c.yaml', '--verify'])).toEqual({
      params: ['a.001.zip', 'a.002.zip'],
      flags: { config: 'c.yaml', verify: true },
    });
    for (const args of [[], ['--verify'], ['a.zip', '--bogus'], ['a.zip', '--config']]) expect(parseInspectArgs(args)).toBeUndefined();
  });

  it('reads bundle export and import: the same flags as their commands; --resend, an argument or an unknown option goes to the full command line', () => {
    const exportArgs = (args: string[]) => parseFastArgs<ExportFlags>(EXPORT_OPTIONS, args, { min: 0, max: 0 });
    const importArgs = (args: string[]) => parseFastArgs<ImportFlags>(IMPORT_OPTIONS, args, { min: 1, max: Infinity });
    expect(exportArgs(['--channel', 'qa-to-prod', '--out=/media', '--full', '--config', 'c.yaml'])).toEqual({
      params: [],
      flags: { channel: 'qa-to-prod', out: '/media', full: true, config: 'c.yaml' },
    });
    expect(exportArgs(['--channel', 'c', '--sequence', '7', '--volumes', '3,5'])).toEqual({
      params: [],
      flags: { channel: 'c', sequence: 7, volumes: [3, 5] },
    });
    expect(() => exportArgs(['--channel', 'c', '--sequence', '0', '--volumes', '1'])).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => exportArgs(['--channel', 'c', '--sequence', '2', '--volumes', '1,x'])).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    for (const args of [['--channel', 'c', '--resend'], ['--channel', 'c', '--resend', 'p1,p2'], ['extra'], ['--help']])
      expect(exportArgs(args)).toBeUndefined();
    expect(importArgs(['a.001.zip', 'a.002.zip', '--receipt-dir', '/r', '--config=c.yaml'])).toEqual({
      params: ['a.001.zip', 'a.002.zip'],
      flags: { receiptDir: '/r', config: 'c.yaml' },
    });
    for (const args of [[], ['a.zip', '--verify']]) expect(importArgs(args)).toBeUndefined();
  });
});
