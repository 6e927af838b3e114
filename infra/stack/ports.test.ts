import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { formatPortRanges, parsePortRanges, reservePorts } from './ports.ts';

describe('reserved local ports', () => {
  it("parses and writes the kernel's notation, merging overlaps and neighbours", () => {
    assert.deepEqual(parsePortRanges('41000-42999,45672\n'), [
      [41000, 42999],
      [45672, 45672],
    ]);
    assert.deepEqual(parsePortRanges('\n'), []);
    assert.equal(
      formatPortRanges([
        [45000, 45999],
        [41000, 41999],
        [42000, 42999],
        [45500, 45600],
        [8080, 8080],
      ]),
      '8080,41000-42999,45000-45999',
    );
    assert.throws(() => parsePortRanges('abc'), /not a port range/);
  });

  it('adds the wanted ranges to what is reserved already, and says so', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'reserved-ports-')), 'ip_local_reserved_ports');
    writeFileSync(file, '8080\n');
    assert.match(
      reservePorts(
        [
          [41000, 41999],
          [42000, 42999],
        ],
        file,
      ),
      /^fixed ports reserved \(8080,41000-42999\)/,
    );
    assert.equal(readFileSync(file, 'utf8'), '8080,41000-42999');
    assert.match(reservePorts([[41000, 41999]], file), /^fixed ports reserved already/);
  });

  it('reports, without throwing, when the kernel setting cannot be written', () => {
    assert.match(reservePorts([[41000, 41999]], '/nonexistent/dir/file'), /^fixed ports not reserved \(.*ENOENT/);
  });
});
