import { AirlockError } from '@airlock/common';

/** One line of a copy list: source and destination. */
export interface CopyPair {
  src: string;
  dst: string;
  line: number;
}

/** Parses `SRC DST` lines (blank lines and `#` comments skipped); any other shape is a usage error naming the line. */
export function parseCopyList(text: string): CopyPair[] {
  const pairs: CopyPair[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) return;
    const parts = line.split(/\s+/);
    if (parts.length !== 2)
      throw new AirlockError(
        'INVALID_ARGUMENT',
        `copy list line ${i + 1}: expected "SRC DST", got ${JSON.stringify(raw.trim().slice(0, 200))}`,
      );
    pairs.push({ src: parts[0], dst: parts[1], line: i + 1 });
  });
  if (pairs.length === 0) throw new AirlockError('INVALID_ARGUMENT', 'copy list has no "SRC DST" lines');
  return pairs;
}
