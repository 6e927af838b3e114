import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WRITER_GROUP_PREFIX, WRITER_GROUPS_PATTERN, writerGroupId } from './groups.ts';

// MirrorMaker 2 matches `groups` as a whole-string Java regular expression; for this pattern
// (a literal, an escaped dot, `.*`) JavaScript's reading is the same.
const synced = new RegExp(`^(?:${WRITER_GROUPS_PATTERN})$`);

describe('consumer groups MirrorMaker 2 carries to the peer', () => {
  it('selects every single-writer processor group, in either region', () => {
    for (const region of ['east', 'west']) {
      const id = writerGroupId('ledger', 'settler', region);
      assert.equal(id, `writer.ledger-settler-${region}`);
      assert.ok(synced.test(id), id);
      assert.ok(id.startsWith(WRITER_GROUP_PREFIX));
    }
  });

  it('leaves out the other processors, feeds and ad-hoc groups', () => {
    for (const id of [
      'ledger-standby-entries-east',
      'notes-replicator-west',
      'live-east-ledger-1f2e',
      'e2e-dlq-3f1dadae',
      'writerless-east',
      'ledger-writer.settler-east',
    ])
      assert.equal(synced.test(id), false, id);
  });
});
