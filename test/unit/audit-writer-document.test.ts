import { describe, expect, it } from 'vitest';
import { batchDocument, batchElements, boundedRuns } from '../../src/audit/event-document.js';

describe('batch documents', () => {
  const tricky = [
    '{"i":"a","p":{"sql":"select \'},{\\"i\\":\' -- ]","n":[1,[2,{"x":"]}"}]]}}',
    '{"i":"b","p":"\\\\"}',
    '{"i":"c","p":null}',
  ];

  it('splits into the exact element texts, whatever the strings inside hold', () => {
    expect(batchElements(batchDocument(tricky))).toEqual(tricky);
    expect(batchElements('[]')).toEqual([]);
  });

  it('finds a document cut short or not an array', () => {
    const doc = batchDocument(tricky);
    for (const cut of [doc.slice(0, -1), doc.slice(0, 30), '{"i":"a"}', '[{"i":"a"]', '[{"i":"a\\"}]'])
      expect(batchElements(cut)).toBeNull();
  });

  it('bounds runs by count and size, keeping order, and never splits an element', () => {
    const els = Array.from({ length: 10 }, (_, i) => `{"i":${i}}`);
    expect(boundedRuns(els, 4, 1_000).map((r) => r.length)).toEqual([4, 4, 2]);
    expect(boundedRuns(els, 100, 20).flat()).toEqual(els);
    expect(boundedRuns(els, 100, 20).every((r) => r.join(',').length <= 20)).toBe(true);
    expect(boundedRuns(['x'.repeat(50)], 100, 20)).toEqual([['x'.repeat(50)]]);
  });
});
