import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The shell lines of the README's block between `<!-- NAME:begin -->` and `<!-- NAME:end -->`, as a user would paste them. */
export function readmeBlock(name: string): string {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  const m = new RegExp(`<!-- ${name}:begin -->\\n\`\`\`sh\\n([\\s\\S]*?)\`\`\`\\n<!-- ${name}:end -->`).exec(readme);
  if (!m) throw new Error(`README.md has no block ${name}`);
  return m[1];
}
