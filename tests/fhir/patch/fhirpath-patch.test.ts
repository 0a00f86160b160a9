/**
 * FHIRPath Patch for the FHIR patch interaction: fhirpatch.html (the operation table and its examples), http.html#patch.
 * The path must match exactly one element (422 otherwise), except that delete of nothing is a no-op; a malformed
 * Parameters document is 400; operations apply all or none; the stored resource is never mutated.
 */
import { applyPatch } from '../../../src/fhir/patch/apply-patch';
import type { JsonObject } from '../../../src/fhir/patch/json-values';
import { expectPatchError, storedPatient } from './fixtures/patch-fixtures';

/** Builds an `operation` parameter; parts are plain JSON so that malformed documents can be written too. */
function operation(type: string, parts: Record<string, JsonObject>): JsonObject {
  return {
    name: 'operation',
    part: [{ name: 'type', valueCode: type }, ...Object.entries(parts).map(([name, part]) => ({ name, ...part }))],
  };
}

const path = (valueString: string): JsonObject => ({ valueString });

function patchFhirPath(...parameter: JsonObject[]): unknown {
  return applyPatch(storedPatient(), 'fhirpath-patch', { resourceType: 'Parameters', parameter });
}

describe('add (fhirpatch.html: appended to the element identified in the path)', () => {
  it('adds birthDate to a Patient that has none (spec example)', () => {
    const patient = { resourceType: 'Patient' as const, id: 'example' };
    const document = {
      resourceType: 'Parameters',
      parameter: [operation('add', { path: path('Patient'), name: { valueString: 'birthDate' }, value: { valueDate: '1930-01-01' } })],
    };
    expect(applyPatch(patient, 'fhirpath-patch', document)).toEqual({ resourceType: 'Patient', id: 'example', birthDate: '1930-01-01' });
  });

  it('adds a complex value built from parts (spec example: a contact with a name)', () => {
    const patched = patchFhirPath(
      operation('add', { path: path('Patient'), name: { valueString: 'contact' }, value: { part: [{ name: 'name', valueHumanName: { text: 'a name' } }] } }),
    );
    expect(patched).toMatchObject({ contact: [{ name: { family: 'du Marché' } }, { name: { text: 'a name' } }] });
  });

  it('builds repeating elements of a parts value as arrays', () => {
    const patched = patchFhirPath(
      operation('add', {
        path: path('Patient'),
        name: { valueString: 'name' },
        value: {
          part: [
            { name: 'family', valueString: 'Windsor' },
            { name: 'given', valueString: 'Peter' },
            { name: 'given', valueString: 'Jim' },
          ],
        },
      }),
    );
    expect(patched).toMatchObject({ name: [{ family: 'Chalmers' }, { family: 'Windsor', given: ['Peter', 'Jim'] }] });
  });

  it('appends to an existing list', () => {
    const patched = patchFhirPath(
      operation('add', { path: path('Patient'), name: { valueString: 'identifier' }, value: { valueIdentifier: { system: 'http://example.org/nhs', value: 'N-3' } } }),
    );
    expect(patched).toMatchObject({ identifier: [{ value: 'MRN-1' }, { value: 'SSN-2' }, { value: 'N-3' }] });
  });

  it('adds into a nested element selected by where()', () => {
    const patched = patchFhirPath(
      operation('add', { path: path("Patient.name.where(use = 'official')"), name: { valueString: 'prefix' }, value: { valueString: 'Mr' } }),
    );
    expect(patched).toMatchObject({ name: [{ family: 'Chalmers', prefix: ['Mr'] }] });
  });

  it('names a choice element by its type (json.html#choice)', () => {
    const patched = patchFhirPath(operation('add', { path: path('Patient'), name: { valueString: 'deceased' }, value: { valueDateTime: '2020-02-02' } }));
    expect(patched).toMatchObject({ deceasedDateTime: '2020-02-02' });
  });

  it("adds an extension to a primitive in its '_' companion", () => {
    const patched = patchFhirPath(
      operation('add', {
        path: path('Patient.gender'),
        name: { valueString: 'extension' },
        value: { part: [{ name: 'url', valueUri: 'http://example.org/x' }, { name: 'value', valueString: 'y' }] },
      }),
    );
    expect(patched).toMatchObject({ gender: 'male', _gender: { extension: [{ url: 'http://example.org/x', valueString: 'y' }] } });
  });

  it('returns 422 when a single-valued element already has a value', () => {
    expectPatchError(
      () => patchFhirPath(operation('add', { path: path('Patient'), name: { valueString: 'birthDate' }, value: { valueDate: '1930-01-01' } })),
      422,
      'Operation 0 (add): Patient.birthDate already has a value; use replace',
      ['Parameters.parameter[0].part[2]'],
    );
  });

  it('returns 422 for an element the type does not have', () => {
    expectPatchError(
      () => patchFhirPath(operation('add', { path: path('Patient'), name: { valueString: 'nickname' }, value: { valueString: 'Pete' } })),
      422,
      'Operation 0 (add): Patient has no element "nickname"',
      ['Parameters.parameter[0].part[2]'],
    );
  });

  it('returns 422 for a value of the wrong type', () => {
    expectPatchError(
      () => patchFhirPath(operation('add', { path: path('Patient'), name: { valueString: 'maritalStatus' }, value: { valueBoolean: true } })),
      422,
      'Operation 0 (add): a value of type boolean does not fit Patient.maritalStatus (CodeableConcept)',
      ['Parameters.parameter[0].part[3]'],
    );
  });

  it('returns 422 for a type the choice element does not allow', () => {
    expectPatchError(
      () => patchFhirPath(operation('add', { path: path('Patient'), name: { valueString: 'deceased' }, value: { valueString: 'yes' } })),
      422,
      'Operation 0 (add): a value of type string does not fit Patient.deceased[x] (boolean | dateTime)',
      ['Parameters.parameter[0].part[3]'],
    );
  });

  it('returns 422 for an unknown element inside a parts value', () => {
    expectPatchError(
      () => patchFhirPath(operation('add', { path: path('Patient'), name: { valueString: 'contact' }, value: { part: [{ name: 'nick', valueString: 'x' }] } })),
      422,
      'Operation 0 (add): PatientContact has no element "nick"',
      ['Parameters.parameter[0].part[3].part[0]'],
    );
  });
});

describe('insert (fhirpatch.html: inserted into the nominated list at the index, 0 based)', () => {
  it('inserts an identifier at index 0 (spec example)', () => {
    const patched = patchFhirPath(
      operation('insert', { path: path('Patient.identifier'), index: { valueInteger: 0 }, value: { valueIdentifier: { system: 'http://example.org/nhs', value: 'N-3' } } }),
    );
    expect(patched).toMatchObject({ identifier: [{ value: 'N-3' }, { value: 'MRN-1' }, { value: 'SSN-2' }] });
  });

  it('appends when the index equals the number of elements', () => {
    const patched = patchFhirPath(operation('insert', { path: path('Patient.name[0].given'), index: { valueInteger: 2 }, value: { valueString: 'Jim' } }));
    expect(patched).toMatchObject({ name: [{ given: ['Peter', 'James', 'Jim'], _given: [null, { id: 'second-given' }, null] }] });
  });

  it("keeps a primitive list's companion aligned", () => {
    const patched = patchFhirPath(operation('insert', { path: path('Patient.name[0].given'), index: { valueInteger: 0 }, value: { valueString: 'Jim' } }));
    expect(patched).toMatchObject({ name: [{ given: ['Jim', 'Peter', 'James'], _given: [null, null, { id: 'second-given' }] }] });
  });

  it('creates a list that is absent', () => {
    const patched = patchFhirPath(operation('insert', { path: path('Patient.telecom'), index: { valueInteger: 0 }, value: { valueContactPoint: { system: 'phone', value: '555' } } }));
    expect(patched).toMatchObject({ telecom: [{ system: 'phone', value: '555' }] });
  });

  it('returns 422 for an index greater than the number of elements', () => {
    expectPatchError(
      () => patchFhirPath(operation('insert', { path: path('Patient.identifier'), index: { valueInteger: 3 }, value: { valueIdentifier: { value: 'X' } } })),
      422,
      'Operation 0 (insert): index 3 is out of range for Patient.identifier: the highest allowed is 2',
      ['Parameters.parameter[0].part[2]'],
    );
  });

  it('returns 422 for an element that does not repeat', () => {
    expectPatchError(
      () => patchFhirPath(operation('insert', { path: path('Patient.birthDate'), index: { valueInteger: 0 }, value: { valueDate: '1930-01-01' } })),
      422,
      'Operation 0 (insert): Patient.birthDate is not a repeating element of Patient',
      ['Parameters.parameter[0].part[1]'],
    );
  });

  it('returns 422 when the owner of the list matches several elements', () => {
    const patient = { ...storedPatient(), name: [{ family: 'A' }, { family: 'B' }] };
    const document = {
      resourceType: 'Parameters',
      parameter: [operation('insert', { path: path('Patient.name.given'), index: { valueInteger: 0 }, value: { valueString: 'X' } })],
    };
    expectPatchError(
      () => applyPatch(patient, 'fhirpath-patch', document),
      422,
      'Operation 0 (insert): the owner of given in Patient.name.given matched 2 elements; insert needs exactly one',
      ['Parameters.parameter[0].part[1]'],
    );
  });
});

describe('delete (fhirpatch.html: only a single element can be deleted; none found is fine)', () => {
  it('deletes birthDate with its extensions (spec example)', () => {
    const patched = patchFhirPath(operation('delete', { path: path('Patient.birthDate') }));
    expect(patched).not.toHaveProperty('birthDate');
    expect(patched).not.toHaveProperty('_birthDate');
  });

  it('does nothing when the path matches no element', () => {
    expect(patchFhirPath(operation('delete', { path: path('Patient.photo') }))).toEqual(storedPatient());
  });

  it('deletes one list element selected by where()', () => {
    const patched = patchFhirPath(operation('delete', { path: path("Patient.identifier.where(system = 'http://example.org/mrn')") }));
    expect(patched).toMatchObject({ identifier: [{ value: 'SSN-2' }] });
  });

  it('removes parents left empty, so no {} or [] remains', () => {
    const patched = patchFhirPath(operation('delete', { path: path('Patient.contact[0].name') }));
    expect(patched).not.toHaveProperty('contact');
  });

  it('removes a list element together with its companion entry', () => {
    const patched = patchFhirPath(operation('delete', { path: path('Patient.name[0].given[1]') }));
    expect(patched).toMatchObject({ name: [{ family: 'Chalmers', given: ['Peter'] }] });
    expect(patched).not.toHaveProperty('name.0._given');
  });

  it("deletes an extension of a primitive and the '_' companion it leaves empty", () => {
    const patched = patchFhirPath(operation('delete', { path: path("Patient.birthDate.extension('http://example.org/birth-time')") }));
    expect(patched).toMatchObject({ birthDate: '1974-12-25' });
    expect(patched).not.toHaveProperty('_birthDate');
  });

  it('returns 422 when the path matches several elements', () => {
    expectPatchError(() => patchFhirPath(operation('delete', { path: path('Patient.identifier') })), 422, 'Operation 0 (delete): path Patient.identifier matched 2 elements; delete needs exactly one', [
      'Parameters.parameter[0].part[1]',
    ]);
  });
});

describe('replace (fhirpatch.html: replace the element with the value)', () => {
  it('replaces birthDate (spec example)', () => {
    const patched = patchFhirPath(operation('replace', { path: path('Patient.birthDate'), value: { valueDate: '1930-01-01' } }));
    expect(patched).toMatchObject({ birthDate: '1930-01-01' });
    expect(patched).not.toHaveProperty('_birthDate');
  });

  it('replaces one entry of a primitive list', () => {
    const patched = patchFhirPath(operation('replace', { path: path('Patient.name[0].given[0]'), value: { valueString: 'Pete' } }));
    expect(patched).toMatchObject({ name: [{ given: ['Pete', 'James'], _given: [null, { id: 'second-given' }] }] });
  });

  it('replaces a complex element with a value built from parts', () => {
    const patched = patchFhirPath(
      operation('replace', { path: path('Patient.contact[0].name'), value: { part: [{ name: 'family', valueString: 'Marché' }, { name: 'given', valueString: 'Bé' }] } }),
    );
    expect(patched).toMatchObject({ contact: [{ name: { family: 'Marché', given: ['Bé'] } }] });
  });

  it('changes the type of a choice element, renaming its JSON member', () => {
    const patient = { ...storedPatient(), deceasedBoolean: true };
    const document = { resourceType: 'Parameters', parameter: [operation('replace', { path: path('Patient.deceased'), value: { valueDateTime: '2020-02-02' } })] };
    const patched = applyPatch(patient, 'fhirpath-patch', document);
    expect(patched).toMatchObject({ deceasedDateTime: '2020-02-02' });
    expect(patched).not.toHaveProperty('deceasedBoolean');
  });

  it('returns 422 when the path matches no element', () => {
    expectPatchError(
      () => patchFhirPath(operation('replace', { path: path('Patient.maritalStatus'), value: { valueCodeableConcept: { text: 'M' } } })),
      422,
      'Operation 0 (replace): path Patient.maritalStatus matched no element; replace needs exactly one',
      ['Parameters.parameter[0].part[1]'],
    );
  });

  it('returns 422 when the path matches several elements', () => {
    expectPatchError(
      () => patchFhirPath(operation('replace', { path: path('Patient.name.given'), value: { valueString: 'X' } })),
      422,
      'Operation 0 (replace): path Patient.name.given matched 2 elements; replace needs exactly one',
      ['Parameters.parameter[0].part[1]'],
    );
  });

  it('returns 422 for the resource itself', () => {
    expectPatchError(
      () => patchFhirPath(operation('replace', { path: path('Patient'), value: { resource: { resourceType: 'Patient' } } })),
      422,
      'Operation 0 (replace): the resource itself cannot be replaced by a patch',
      ['Parameters.parameter[0].part[1]'],
    );
  });

  it('returns 422 when single() meets several elements', () => {
    expectPatchError(
      () => patchFhirPath(operation('replace', { path: path('Patient.identifier.single().value'), value: { valueString: 'X' } })),
      422,
      'Operation 0 (replace): path Patient.identifier.single().value could not be evaluated: single() found 2 elements',
      ['Parameters.parameter[0].part[1]'],
    );
  });
});

describe('move (fhirpatch.html: move an element within a single list)', () => {
  it('moves identifier 1 to position 0 (spec example)', () => {
    const patched = patchFhirPath(operation('move', { path: path('Patient.identifier'), source: { valueInteger: 1 }, destination: { valueInteger: 0 } }));
    expect(patched).toMatchObject({ identifier: [{ value: 'SSN-2' }, { value: 'MRN-1' }] });
  });

  it("moves a primitive list entry with its companion entry", () => {
    const patched = patchFhirPath(operation('move', { path: path('Patient.name[0].given'), source: { valueInteger: 1 }, destination: { valueInteger: 0 } }));
    expect(patched).toMatchObject({ name: [{ given: ['James', 'Peter'], _given: [{ id: 'second-given' }, null] }] });
  });

  it('returns 422 for a source outside the list', () => {
    expectPatchError(
      () => patchFhirPath(operation('move', { path: path('Patient.identifier'), source: { valueInteger: 2 }, destination: { valueInteger: 0 } })),
      422,
      'Operation 0 (move): index 2 is out of range for Patient.identifier: the highest allowed is 1',
      ['Parameters.parameter[0].part[2]'],
    );
  });
});

describe('paths through choice types, contained resources and primitive lists', () => {
  const observation = {
    resourceType: 'Observation' as const,
    id: 'obs-1',
    status: 'final' as const,
    code: { text: 'Glucose' },
    valueQuantity: { value: 5.4, unit: 'mmol/L' },
    contained: [{ resourceType: 'Practitioner' as const, id: 'pr-1', name: [{ family: 'Adams' }] }],
  };
  const patchObservation = (...parameter: JsonObject[]): unknown =>
    applyPatch(observation, 'fhirpath-patch', { resourceType: 'Parameters', parameter });

  it('navigates a choice element with ofType()', () => {
    const patched = patchObservation(operation('replace', { path: path('Observation.value.ofType(Quantity).value'), value: { valueDecimal: 6.1 } }));
    expect(patched).toMatchObject({ valueQuantity: { value: 6.1, unit: 'mmol/L' } });
  });

  it('navigates a choice element with as', () => {
    const patched = patchObservation(operation('replace', { path: path('(Observation.value as Quantity).unit'), value: { valueString: 'mg/dL' } }));
    expect(patched).toMatchObject({ valueQuantity: { value: 5.4, unit: 'mg/dL' } });
  });

  it('keeps the current type of a choice element replaced by parts', () => {
    const patched = patchObservation(operation('replace', { path: path('Observation.value'), value: { part: [{ name: 'value', valueDecimal: 7 }] } }));
    expect(patched).toMatchObject({ valueQuantity: { value: 7 } });
  });

  it('edits a contained resource selected by its type', () => {
    const patched = patchObservation(operation('replace', { path: path('Observation.contained.ofType(Practitioner).name.family'), value: { valueString: 'Brown' } }));
    expect(patched).toMatchObject({ contained: [{ resourceType: 'Practitioner', name: [{ family: 'Brown' }] }] });
  });

  it('adds a contained resource given as resource', () => {
    const patched = patchObservation(operation('add', { path: path('Observation'), name: { valueString: 'contained' }, value: { resource: { resourceType: 'Device', id: 'dev-1' } } }));
    expect(patched).toMatchObject({ contained: [{ id: 'pr-1' }, { resourceType: 'Device', id: 'dev-1' }] });
  });

  it('accepts a code sent as valueString, which has the same JSON form', () => {
    expect(patchObservation(operation('replace', { path: path('Observation.status'), value: { valueString: 'amended' } }))).toMatchObject({ status: 'amended' });
  });

  it('returns 422 for a primitive of another JSON form', () => {
    expectPatchError(
      () => patchObservation(operation('replace', { path: path('Observation.status'), value: { valueInteger: 3 } })),
      422,
      'Operation 0 (replace): a value of type integer does not fit Observation.status (code)',
      ['Parameters.parameter[0].part[2]'],
    );
  });

  it('selects a primitive list entry by its value with $this', () => {
    const patched = patchFhirPath(operation('delete', { path: path("Patient.name.given.where($this = 'Peter')") }));
    expect(patched).toMatchObject({ name: [{ given: ['James'], _given: [{ id: 'second-given' }] }] });
  });
});

describe('FHIRPath Patch as a whole', () => {
  it('applies operations in order, each seeing the result of the previous one', () => {
    const patched = patchFhirPath(
      operation('add', { path: path('Patient'), name: { valueString: 'telecom' }, value: { valueContactPoint: { system: 'email', value: 'p@example.org' } } }),
      operation('replace', { path: path("Patient.telecom.where(system = 'email').value"), value: { valueString: 'peter@example.org' } }),
    );
    expect(patched).toMatchObject({ telecom: [{ system: 'email', value: 'peter@example.org' }] });
  });

  it('applies nothing when a later operation fails, and never mutates the stored resource', () => {
    const stored = storedPatient();
    const document = {
      resourceType: 'Parameters',
      parameter: [operation('delete', { path: path('Patient.active') }), operation('replace', { path: path('Patient.photo'), value: { valueAttachment: { url: 'x' } } })],
    };
    expect(() => applyPatch(stored, 'fhirpath-patch', document)).toThrow('Operation 1 (replace): path Patient.photo matched no element; replace needs exactly one');
    expect(stored).toEqual(storedPatient());
  });

  it('returns an equal copy for a Parameters without operations', () => {
    expect(applyPatch(storedPatient(), 'fhirpath-patch', { resourceType: 'Parameters' })).toEqual(storedPatient());
  });

  it('returns 422 for changing id', () => {
    expectPatchError(() => patchFhirPath(operation('replace', { path: path('Patient.id'), value: { valueId: 'pat-2' } })), 422, 'Operation 0 (replace): id cannot be changed by a patch', [
      'Parameters.parameter[0]',
    ]);
  });

  it('discards a change to meta.versionId', () => {
    expect(patchFhirPath(operation('replace', { path: path('Patient.meta.versionId'), value: { valueId: '42' } }))).toMatchObject({ meta: { versionId: '3' } });
  });
});

describe('FHIRPath Patch documents that are malformed (400)', () => {
  it('returns 400 for a body that is not a Parameters resource', () => {
    expectPatchError(() => applyPatch(storedPatient(), 'fhirpath-patch', [{ op: 'remove', path: '/active' }]), 400, 'A FHIRPath Patch document must be a Parameters resource', ['Parameters']);
  });

  it('returns 400 for a parameter not named operation', () => {
    expectPatchError(() => patchFhirPath({ ...operation('delete', { path: path('Patient.active') }), name: 'op' }), 400, 'Operation 0: the parameter name must be "operation"', [
      'Parameters.parameter[0].name',
    ]);
  });

  it('returns 400 for an unknown operation type', () => {
    expectPatchError(() => patchFhirPath(operation('remove', { path: path('Patient.active') })), 400, 'Operation 0: part "type" must be a valueCode, one of add, insert, delete, replace, move', [
      'Parameters.parameter[0].part[0]',
    ]);
  });

  it('returns 400 for an unknown part', () => {
    expectPatchError(() => patchFhirPath(operation('delete', { path: path('Patient.active'), where: { valueString: 'x' } })), 400, 'Operation 0: unknown part "where"', [
      'Parameters.parameter[0].part[2]',
    ]);
  });

  it('returns 400 when a required part is missing', () => {
    expectPatchError(() => patchFhirPath(operation('add', { path: path('Patient'), value: { valueDate: '1930-01-01' } })), 400, 'Operation 0 (add): part "name" is required', [
      'Parameters.parameter[0]',
    ]);
  });

  it('returns 400 for a part the operation type does not use', () => {
    expectPatchError(() => patchFhirPath(operation('delete', { path: path('Patient.active'), index: { valueInteger: 0 } })), 400, 'Operation 0 (delete): part "index" is not used by delete', [
      'Parameters.parameter[0].part[2]',
    ]);
  });

  it('returns 400 for a path that is not valid FHIRPath', () => {
    expectPatchError(
      () => patchFhirPath(operation('delete', { path: path('Patient..name') })),
      400,
      'Operation 0 (delete): path "Patient..name" is not valid FHIRPath: Parse error at "." (line 1, column 8). No matching prefix parselet.',
      ['Parameters.parameter[0].part[1]'],
    );
  });

  it('returns 400 for a path that computes a value instead of selecting elements', () => {
    expectPatchError(
      () => patchFhirPath(operation('delete', { path: path('Patient.name.given.count()') })),
      400,
      'Operation 0 (delete): path "Patient.name.given.count()" cannot be patched: function count() does not select elements of the resource',
      ['Parameters.parameter[0].part[1]'],
    );
  });

  it('returns 400 for an insert path that does not end with an element name', () => {
    expectPatchError(
      () => patchFhirPath(operation('insert', { path: path('Patient.identifier.first()'), index: { valueInteger: 0 }, value: { valueIdentifier: { value: 'X' } } })),
      400,
      'Operation 0 (insert): path "Patient.identifier.first()" must end with the name of a repeating element',
      ['Parameters.parameter[0].part[1]'],
    );
  });

  it('returns 400 for a value with two value[x] members', () => {
    expectPatchError(
      () => patchFhirPath(operation('replace', { path: path('Patient.active'), value: { valueBoolean: false, valueString: 'no' } })),
      400,
      'Operation 0 (replace): a value needs exactly one of value[x], resource or part',
      ['Parameters.parameter[0].part[2]'],
    );
  });

  it('returns 400 for a value[x] whose JSON does not match its type', () => {
    expectPatchError(() => patchFhirPath(operation('replace', { path: path('Patient.active'), value: { valueBoolean: 'no' } })), 400, 'Operation 0 (replace): valueBoolean must be a JSON boolean', [
      'Parameters.parameter[0].part[2]',
    ]);
  });

  it('returns 400 for a negative index', () => {
    expectPatchError(
      () => patchFhirPath(operation('insert', { path: path('Patient.identifier'), index: { valueInteger: -1 }, value: { valueIdentifier: { value: 'X' } } })),
      400,
      'Operation 0 (insert): part "index" must be a valueInteger of 0 or more',
      ['Parameters.parameter[0].part[2]'],
    );
  });
});
