/** Zip volumes made by hand, as an adversary would: every header written here, each able to lie. */

export interface ZipCraftEntry {
  name: string | Buffer;
  data: Buffer;
  /** Compression method in both headers (0: stored). */
  method?: number;
  /** Another name in the local header than in the central directory. */
  localName?: string;
  /** Another size in the central directory than the data has. */
  centralSize?: number;
  extra?: Buffer;
}

/** A zip of the entries as given, with knobs to make it lie: what a hostile volume looks like. */
export function craftZip(entries: ZipCraftEntry[], o: { comment?: Buffer; trailing?: Buffer; overlap?: boolean } = {}): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.isBuffer(e.name) ? e.name : Buffer.from(e.name);
    const localName = e.localName ? Buffer.from(e.localName) : name;
    const extra = e.extra ?? Buffer.alloc(0);
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(20, 4);
    lh.writeUInt16LE(e.method ?? 0, 8);
    lh.writeUInt32LE(e.data.length, 18);
    lh.writeUInt32LE(e.data.length, 22);
    lh.writeUInt16LE(localName.length, 26);
    lh.writeUInt16LE(extra.length, 28);
    const local = Buffer.concat([lh, localName, extra, e.data]);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE(20, 4);
    ch.writeUInt16LE(20, 6);
    ch.writeUInt16LE(e.method ?? 0, 10);
    ch.writeUInt32LE(e.centralSize ?? e.data.length, 20);
    ch.writeUInt32LE(e.centralSize ?? e.data.length, 24);
    ch.writeUInt16LE(name.length, 28);
    ch.writeUInt16LE(extra.length, 30);
    ch.writeUInt32LE(o.overlap && central.length ? 0 : offset, 42);
    central.push(Buffer.concat([ch, name, extra]));
    locals.push(local);
    offset += local.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  end.writeUInt16LE(o.comment?.length ?? 0, 20);
  return Buffer.concat([...locals, cd, end, o.comment ?? Buffer.alloc(0), o.trailing ?? Buffer.alloc(0)]);
}
