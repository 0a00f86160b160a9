/**
 * JSON Patch for the FHIR patch interaction: http.html#patch, RFC 6902 (operations), RFC 6901 (pointers).
 * A malformed document is 400; a well-formed one that cannot be applied to this resource is 422; operations apply
 * all or none; resourceType and id cannot change; meta.versionId/lastUpdated are the server's.
 */
import { applyPatch } from '../../../src/fhir/patch/apply-patch';
import { expectPatchError, storedPatient } from './fixtures/patch-fixtures';

const patchJson = (patch: unknown): unknown => applyPatch(storedPatient(), 'json-patch', patch);

describe('JSON Patch operations (RFC 6902 section 4)', () => {
  it('add sets a member that is absent', () => {
    const patched = applyPatch(storedPatient(), 'json-patch', [{ op: 'add', path: '/deceasedBoolean', value: false }]);
    expect(patched).toEqual({ ...storedPatient(), deceasedBoolean: false });
  });

  it('add inserts into an array before the element at the index', () => {
    expect(patchJson([{ op: 'add', path: '/name/0/given/1', value: 'Jim' }])).toMatchObject({ name: [{ given: ['Peter', 'Jim', 'James'] }] });
  });

  it('add with the index "-" appends to an array', () => {
    expect(patchJson([{ op: 'add', path: '/name/0/given/-', value: 'Jim' }])).toMatchObject({ name: [{ given: ['Peter', 'James', 'Jim'] }] });
  });

  it('add replaces a member that is already present', () => {
    expect(patchJson([{ op: 'add', path: '/gender', value: 'other' }])).toMatchObject({ gender: 'other' });
  });

  it('remove deletes an array element and shifts the rest', () => {
    expect(patchJson([{ op: 'remove', path: '/identifier/0' }])).toMatchObject({ identifier: [{ system: 'http://example.org/ssn', value: 'SSN-2' }] });
  });

  it('remove deletes a member', () => {
    expect(patchJson([{ op: 'remove', path: '/active' }])).not.toHaveProperty('active');
  });

  it('replace changes a nested value', () => {
    expect(patchJson([{ op: 'replace', path: '/name/0/family', value: 'Chalmers-Smith' }])).toMatchObject({ name: [{ family: 'Chalmers-Smith' }] });
  });

  it('move reorders an array', () => {
    expect(patchJson([{ op: 'move', from: '/identifier/1', path: '/identifier/0' }])).toMatchObject({
      identifier: [{ value: 'SSN-2' }, { value: 'MRN-1' }],
    });
  });

  it('move resolves the target after removing the source', () => {
    expect(patchJson([{ op: 'move', from: '/identifier/0', path: '/identifier/1' }])).toMatchObject({
      identifier: [{ value: 'SSN-2' }, { value: 'MRN-1' }],
    });
  });

  it('copy duplicates a value at another location', () => {
    expect(patchJson([{ op: 'copy', from: '/name/0', path: '/name/-' }])).toMatchObject({ name: [{ family: 'Chalmers' }, { family: 'Chalmers' }] });
  });

  it('test that matches lets the following operations run', () => {
    const patched = patchJson([
      { op: 'test', path: '/name/0/family', value: 'Chalmers' },
      { op: 'replace', path: '/gender', value: 'female' },
    ]);
    expect(patched).toMatchObject({ gender: 'female' });
  });

  it('test compares objects by value, whatever the member order', () => {
    expect(() => patchJson([{ op: 'test', path: '/identifier/0', value: { value: 'MRN-1', system: 'http://example.org/mrn' } }])).not.toThrow();
  });

  it('returns an equal copy for an empty patch', () => {
    const stored = storedPatient();
    const patched = applyPatch(stored, 'json-patch', []);
    expect(patched).toEqual(stored);
    expect(patched).not.toBe(stored);
  });

  it('never mutates the stored resource (it is deep-frozen here)', () => {
    const stored = storedPatient();
    applyPatch(stored, 'json-patch', [
      { op: 'remove', path: '/name/0/given/0' },
      { op: 'add', path: '/identifier/-', value: { value: 'X' } },
      { op: 'replace', path: '/contact/0/name/family', value: 'Marché' },
    ]);
    expect(stored).toEqual(storedPatient());
  });

  it('does not share values with the patch document', () => {
    const identifier = { system: 'http://example.org/other', value: 'O-1' };
    const patched = applyPatch(storedPatient(), 'json-patch', [{ op: 'add', path: '/identifier/-', value: identifier }]);
    identifier.value = 'changed later';
    expect(patched).toMatchObject({ identifier: [{ value: 'MRN-1' }, { value: 'SSN-2' }, { value: 'O-1' }] });
  });
});

describe('JSON Patch failures that leave the resource untouched (422)', () => {
  it('returns 422 when a test operation fails, and applies none of the earlier operations', () => {
    const stored = storedPatient();
    expectPatchError(
      () =>
        applyPatch(stored, 'json-patch', [
          { op: 'replace', path: '/gender', value: 'female' },
          { op: 'test', path: '/name/0/family', value: 'Smith' },
        ]),
      422,
      'Operation 1 (test): value at /name/0/family is not the expected value',
      ['/1/value'],
    );
    expect(stored).toEqual(storedPatient());
  });

  it('returns 422 when a test operation names a path that does not exist', () => {
    expectPatchError(() => patchJson([{ op: 'test', path: '/deceasedBoolean', value: false }]), 422, 'Operation 0 (test): path /deceasedBoolean does not exist', [
      '/0/path',
    ]);
  });

  it('returns 422 when replace names a member that does not exist', () => {
    expectPatchError(() => patchJson([{ op: 'replace', path: '/name/0/prefix', value: ['Mr'] }]), 422, 'Operation 0 (replace): path /name/0/prefix does not exist', [
      '/0/path',
    ]);
  });

  it('returns 422 naming the array length when an index is past the end', () => {
    expectPatchError(
      () => patchJson([{ op: 'replace', path: '/name/2/family', value: 'X' }]),
      422,
      'Operation 0 (replace): path /name/2/family does not exist: /name has 1 element',
      ['/0/path'],
    );
  });

  it('returns 422 for an add index beyond the end of the array', () => {
    expectPatchError(() => patchJson([{ op: 'add', path: '/identifier/3', value: {} }]), 422, 'Operation 0 (add): path /identifier/3 does not exist: /identifier has 2 elements', [
      '/0/path',
    ]);
  });

  it('returns 422 for an array index with a leading zero (RFC 6901 section 4)', () => {
    expectPatchError(() => patchJson([{ op: 'remove', path: '/identifier/01' }]), 422, 'Operation 0 (remove): path /identifier/01 does not exist: "01" is not an array index', [
      '/0/path',
    ]);
  });

  it('returns 422 when the parent of the target is a primitive', () => {
    expectPatchError(
      () => patchJson([{ op: 'add', path: '/birthDate/year', value: 1974 }]),
      422,
      'Operation 0 (add): path /birthDate/year does not exist: /birthDate is not an object or array',
      ['/0/path'],
    );
  });

  it('returns 422 when remove names a member that does not exist', () => {
    expectPatchError(() => patchJson([{ op: 'remove', path: '/photo' }]), 422, 'Operation 0 (remove): path /photo does not exist', ['/0/path']);
  });

  it('returns 422 when move names a source that does not exist', () => {
    expectPatchError(() => patchJson([{ op: 'move', from: '/telecom/0', path: '/telecom/1' }]), 422, 'Operation 0 (move): from /telecom/0 does not exist', ['/0/from']);
  });

  it('returns 422 for replacing the whole resource, which is an update', () => {
    expectPatchError(
      () => patchJson([{ op: 'replace', path: '', value: { resourceType: 'Patient', id: 'pat-1' } }]),
      422,
      'Operation 0 (replace): path "" addresses the whole resource; replace it with an update instead',
      ['/0/path'],
    );
  });
});

describe('JSON Patch documents that are malformed (400)', () => {
  it('returns 400 when the document is not an array', () => {
    expectPatchError(() => patchJson({ op: 'remove', path: '/active' }), 400, 'A JSON Patch document must be an array of operations', ['']);
  });

  it('returns 400 when an operation is not an object', () => {
    expectPatchError(() => patchJson(['remove /active']), 400, 'Operation 0 must be an object', ['/0']);
  });

  it('returns 400 for an unknown op', () => {
    expectPatchError(() => patchJson([{ op: 'merge', path: '/active', value: false }]), 400, 'Operation 0: op must be one of add, remove, replace, move, copy, test', ['/0/op']);
  });

  it('returns 400 when path is missing', () => {
    expectPatchError(() => patchJson([{ op: 'remove' }]), 400, 'Operation 0 (remove): path must be a JSON pointer string', ['/0/path']);
  });

  it('returns 400 for a pointer without the leading slash', () => {
    expectPatchError(() => patchJson([{ op: 'remove', path: 'active' }]), 400, 'Operation 0 (remove): path "active" is not a valid JSON pointer (RFC 6901)', ['/0/path']);
  });

  it('returns 400 for a pointer with an invalid escape', () => {
    expectPatchError(() => patchJson([{ op: 'remove', path: '/a~2b' }]), 400, 'Operation 0 (remove): path "/a~2b" is not a valid JSON pointer (RFC 6901)', ['/0/path']);
  });

  it('returns 400 for a pointer through a prototype member', () => {
    expectPatchError(
      () => patchJson([{ op: 'add', path: '/__proto__/polluted', value: true }]),
      400,
      'Operation 0 (add): path "/__proto__/polluted" names "__proto__", which is not a FHIR element',
      ['/0/path'],
    );
  });

  it('returns 400 when add has no value member', () => {
    expectPatchError(() => patchJson([{ op: 'add', path: '/active' }]), 400, 'Operation 0 (add): value is required', ['/0']);
  });

  it('returns 400 when move has no from member', () => {
    expectPatchError(() => patchJson([{ op: 'move', path: '/identifier/0' }]), 400, 'Operation 0 (move): from must be a JSON pointer string', ['/0/from']);
  });

  it('returns 400 for moving a value into its own child', () => {
    expectPatchError(() => patchJson([{ op: 'move', from: '/name/0', path: '/name/0/given/0' }]), 400, 'Operation 0 (move): cannot move /name/0 into its own child /name/0/given/0', [
      '/0/from',
    ]);
  });

  it('checks the whole document before applying anything', () => {
    expectPatchError(() => patchJson([{ op: 'remove', path: '/photo' }, { op: 'jump' }]), 400, 'Operation 1: op must be one of add, remove, replace, move, copy, test', ['/1/op']);
  });
});

describe('server-managed elements under JSON Patch', () => {
  it('returns 422 for changing resourceType', () => {
    expectPatchError(() => patchJson([{ op: 'replace', path: '/resourceType', value: 'Person' }]), 422, 'Operation 0 (replace): resourceType cannot be changed by a patch', ['/0/path']);
  });

  it('returns 422 for changing id', () => {
    expectPatchError(() => patchJson([{ op: 'replace', path: '/id', value: 'pat-2' }]), 422, 'Operation 0 (replace): id cannot be changed by a patch', ['/0/path']);
  });

  it('returns 422 for removing id', () => {
    expectPatchError(() => patchJson([{ op: 'remove', path: '/id' }]), 422, 'Operation 0 (remove): id cannot be changed by a patch', ['/0/path']);
  });

  it('accepts replacing id with the same value', () => {
    expect(patchJson([{ op: 'replace', path: '/id', value: 'pat-1' }])).toMatchObject({ id: 'pat-1' });
  });

  it('discards changes to meta.versionId and meta.lastUpdated but keeps other meta changes', () => {
    const patched = patchJson([
      { op: 'replace', path: '/meta/versionId', value: '99' },
      { op: 'remove', path: '/meta/lastUpdated' },
      { op: 'add', path: '/meta/tag', value: [{ code: 'vip' }] },
    ]);
    expect(patched).toMatchObject({ meta: { versionId: '3', lastUpdated: '2024-05-01T10:00:00.000Z', tag: [{ code: 'vip' }] } });
  });

  it('restores version metadata when the patch removes meta', () => {
    expect(patchJson([{ op: 'remove', path: '/meta' }])).toMatchObject({ meta: { versionId: '3', lastUpdated: '2024-05-01T10:00:00.000Z' } });
  });

  it('drops a versionId added to a resource that had none, leaving no empty meta', () => {
    const patched = applyPatch({ resourceType: 'Basic', id: 'b-1', code: { text: 'x' } }, 'json-patch', [{ op: 'add', path: '/meta', value: { versionId: '7' } }]);
    expect(patched).toEqual({ resourceType: 'Basic', id: 'b-1', code: { text: 'x' } });
  });
});
