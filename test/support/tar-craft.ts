/**
 * Tar streams written by hand, byte by byte, for hostile-input tests: code of
 * its own (not tar-stream, which airlock's writer uses), so that a test can
 * build what no well-behaved writer would: links, lying sizes, entries after
 * the end-of-archive, a missing end, a cut in the middle of an entry.
 */

export interface CraftEntry {
  name: string;
  data: Buffer;
  /** '0' regular file (default), '2' symlink, '5' folder, 'x' pax header, ... */
  type?: string;
  /** Size written in the header, when it should lie. */
  size?: number;
  linkname?: string;
  /** Raw pax records to put in an extended header before this entry. */
  pax?: Record<string, string>;
}

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

/** One ustar header block. */
export function tarHeader(e: { name: string; size: number; type?: string; linkname?: string }): Buffer {
  const h = Buffer.alloc(512);
  let name = e.name;
  let prefix = '';
  if (Buffer.byteLength(name) > 100) {
    // ustar splits a long name at a slash: prefix (at most 155 bytes) / name (at most 100)
    let i = name.indexOf('/');
    while (i >= 0 && Buffer.byteLength(name.slice(i + 1)) > 100) i = name.indexOf('/', i + 1);
    if (i < 0 || i > 155) throw new Error(`name too long for ustar: ${name}`);
    prefix = name.slice(0, i);
    name = name.slice(i + 1);
  }
  h.write(name, 0, 100, 'utf8');
  h.write(octal(0o644, 8), 100);
  h.write(octal(0, 8), 108);
  h.write(octal(0, 8), 116);
  h.write(octal(e.size, 12), 124);
  h.write(octal(946684800, 12), 136);
  h.write(e.type ?? '0', 156);
  if (e.linkname) h.write(e.linkname, 157, 100);
  h.write('ustar\u0000', 257, 'latin1');
  h.write('00', 263);
  if (prefix) h.write(prefix, 345, 155);
  h.write('        ', 148);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7) + ' ', 148);
  return h;
}

const pad = (n: number) => Buffer.alloc((512 - (n % 512)) % 512);

function paxBody(records: Record<string, string>): Buffer {
  let out = '';
  for (const [k, v] of Object.entries(records)) {
    const rest = ` ${k}=${v}\n`;
    let len = rest.length + 1;
    while (String(len).length + rest.length !== len) len = String(len).length + rest.length;
    out += `${len}${rest}`;
  }
  return Buffer.from(out);
}

/** The blocks of one entry: header, data, padding (with its pax header first, when asked). */
export function tarEntry(e: CraftEntry): Buffer {
  const parts: Buffer[] = [];
  if (e.pax) {
    const body = paxBody(e.pax);
    parts.push(tarHeader({ name: 'PaxHeader', size: body.length, type: 'x' }), body, pad(body.length));
  }
  parts.push(tarHeader({ name: e.name, size: e.size ?? e.data.length, type: e.type, linkname: e.linkname }), e.data, pad(e.data.length));
  return Buffer.concat(parts);
}

/** The end-of-archive: two zero blocks. */
export const TAR_END = Buffer.alloc(1024);

/** A whole tar stream of these entries, ended properly unless told otherwise. */
export function craftTar(entries: CraftEntry[], o: { end?: boolean; after?: Buffer } = {}): Buffer {
  return Buffer.concat([...entries.map(tarEntry), o.end === false ? Buffer.alloc(0) : TAR_END, o.after ?? Buffer.alloc(0)]);
}
