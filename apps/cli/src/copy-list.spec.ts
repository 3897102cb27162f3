import { parseCopyList } from './copy-list';

describe('parseCopyList', () => {
  it('reads pairs, skipping blanks and comments', () => {
    expect(parseCopyList('# images\n\na/b:1 c/d:1\n  x:1\ty:1  # trailing\n')).toEqual([
      { src: 'a/b:1', dst: 'c/d:1', line: 3 },
      { src: 'x:1', dst: 'y:1', line: 4 },
    ]);
  });
  it('names the bad line', () => {
    expect(() => parseCopyList('a b\nonly-one\n')).toThrow(/line 2/);
    expect(() => parseCopyList('# nothing\n')).toThrow(/no "SRC DST"/);
  });
});
