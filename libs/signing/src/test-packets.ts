/** Splits a binary OpenPGP stream into packets (new-format headers), for building malformed test inputs. */
export function splitPackets(b: Uint8Array): { tag: number; bytes: Buffer; bodyOffset: number }[] {
  const out: { tag: number; bytes: Buffer; bodyOffset: number }[] = [];
  let i = 0;
  const buf = Buffer.from(b);
  while (i < buf.length) {
    const start = i;
    const h = buf[i++];
    if ((h & 0x80) === 0) throw new Error('not a packet');
    let tag: number;
    let len: number;
    if (h & 0x40) {
      tag = h & 0x3f;
      const o = buf[i++];
      if (o < 192) len = o;
      else if (o < 224) len = ((o - 192) << 8) + buf[i++] + 192;
      else if (o === 255) {
        len = buf.readUInt32BE(i);
        i += 4;
      } else throw new Error('partial lengths not supported here');
    } else {
      tag = (h >> 2) & 0x0f;
      const lt = h & 3;
      if (lt === 0) len = buf[i++];
      else if (lt === 1) {
        len = buf.readUInt16BE(i);
        i += 2;
      } else if (lt === 2) {
        len = buf.readUInt32BE(i);
        i += 4;
      } else throw new Error('indeterminate length');
    }
    const bodyOffset = i - start;
    i += len;
    out.push({ tag, bytes: buf.subarray(start, i), bodyOffset });
  }
  return out;
}
