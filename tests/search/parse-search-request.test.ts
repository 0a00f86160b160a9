/**
 * The search parameter grammar (search.html): escaping (#escaping), prefixes (#prefix), number precision
 * (#number), token forms (#token), modifiers per type (#modifiers), chaining (#chaining), _has (#has), result
 * parameters (#return), and the handling of unknown parameters (#errors). Values become data in the criteria.
 */
import { parseNumberCondition, parseSearchRequest, parseToken, splitUnescaped, unescapeValue, type ParseOptions } from '../../src/search/parse-search-request';
import { baseSearchParameters } from '../../src/search/search-parameters';
import type { Criterion, ParsedCriterion, SearchRequest } from '../../src/search/search-request';
import { FhirError } from '../../src/errors';

const options: ParseOptions = {
  parameters: baseSearchParameters(),
  strict: false,
  defaultCount: 20,
  maxCount: 1000,
  baseUrl: 'https://fhir.example.org/fhir',
};

function parse(query: string, type = 'Patient', strict = false): SearchRequest {
  return parseSearchRequest([...new URLSearchParams(query)], [type], { ...options, strict });
}

function criteria(query: string, type = 'Patient'): readonly ParsedCriterion[] {
  return parse(query, type).criteria.get(type) ?? [];
}

function only(query: string, type = 'Patient'): ParsedCriterion {
  const all = criteria(query, type);
  expect(all).toHaveLength(1);
  return all[0] as ParsedCriterion;
}

function error(query: string, type = 'Patient', strict = false): FhirError {
  try {
    parse(query, type, strict);
  } catch (e) {
    if (e instanceof FhirError) return e;
    throw e;
  }
  throw new Error(`expected ${query} to be rejected`);
}

describe('escaping (search.html#escaping)', () => {
  it('splits on commas, bars and dollars that are not escaped', () => {
    expect(splitUnescaped('a,b\\,c,d', ',')).toEqual(['a', 'b\\,c', 'd']);
    expect(splitUnescaped('sys\\|tem|code', '|')).toEqual(['sys\\|tem', 'code']);
    expect(splitUnescaped('a\\\\,b', ',')).toEqual(['a\\\\', 'b']);
  });

  it('unescapes \\, \\| \\$ and \\\\ only', () => {
    expect(unescapeValue('a\\,b\\|c\\$d\\\\e\\n')).toBe('a,b|c$d\\e\\n');
  });

  it('keeps an escaped comma inside one value', () => {
    expect(only('identifier=a\\,b')).toEqual({ kind: 'keys', keys: ['identifier=tc:a,b'] });
  });

  it('rejects an escape of any other character', () => {
    expect(error('name=Back\\slash').message).toBe("Parameter 'name': 'Back\\slash' has an illegal escape; only \\, \\| \\$ and \\\\ may be escaped (search.html#escaping)");
  });
});

describe('string (search.html#string)', () => {
  it('matches normalized prefixes by default, OR over commas', () => {
    expect(only('name=Chalmërs,PETER')).toEqual({ kind: 'key-prefix', prefixes: ['name=s:chalmers', 'name=s:peter'] });
  });

  it('ignores punctuation and repeated whitespace', () => {
    expect(only("name=O'Brien,%20van%20%20der-Berg")).toEqual({ kind: 'key-prefix', prefixes: ['name=s:obrien', 'name=s:van derberg'] });
  });

  it('ANDs repeated parameters', () => {
    expect(criteria('name=peter&name=chalmers')).toHaveLength(2);
  });

  it('matches :exact values as written and :contains anywhere', () => {
    expect(only('family:exact=Chalmërs')).toEqual({ kind: 'keys', keys: ['family=x:Chalmërs'] });
    expect(only('family:contains=ALM')).toEqual({ kind: 'key-contains', prefix: 'family=s:', fragments: ['alm'] });
  });

  it('rejects an unknown modifier, naming the allowed ones', () => {
    expect(error('name:fuzzy=x').message).toBe("Parameter 'name:fuzzy': unknown modifier ':fuzzy' for a string parameter; allowed: :exact, :contains, :missing");
  });
});

describe('token (search.html#token)', () => {
  it('distinguishes code, system|code, |code and system|', () => {
    expect(parseToken('x')).toEqual({ system: undefined, code: 'x' });
    expect(parseToken('http://s|x')).toEqual({ system: 'http://s', code: 'x' });
    expect(parseToken('|x')).toEqual({ system: '', code: 'x' });
    expect(parseToken('http://s|')).toEqual({ system: 'http://s', code: undefined });
    expect(only('identifier=http://s|x,|y,z,http://t|')).toEqual({
      kind: 'keys',
      keys: ['identifier=ts:http://s|x', 'identifier=tn:y', 'identifier=tc:z', 'identifier=ty:http://t'],
    });
  });

  it('keeps a bar in a code when it is escaped', () => {
    expect(only('identifier=http://s|a\\|b')).toEqual({ kind: 'keys', keys: ['identifier=ts:http://s|a|b'] });
  });

  it('turns :not into an exclusion and :text into a prefix on display text', () => {
    expect(only('gender:not=male')).toEqual({ kind: 'no-keys', keys: ['gender=tc:male'] });
    expect(only('code:text=Body', 'Observation')).toEqual({ kind: 'key-prefix', prefixes: ['code=tt:body'] });
  });

  it('expands :in against a value set of the R4 definitions', () => {
    const criterion = only('gender:in=http://hl7.org/fhir/ValueSet/administrative-gender') as Extract<Criterion, { kind: 'keys' }>;
    expect(criterion.keys).toEqual(expect.arrayContaining(['gender=ts:http://hl7.org/fhir/administrative-gender|female', 'gender=ts:http://hl7.org/fhir/administrative-gender|unknown']));
  });

  it('rejects :in with a value set it cannot expand, and the subsumption modifiers', () => {
    expect(error('code:in=http://example.org/ValueSet/nope', 'Observation').message).toContain("the value set 'http://example.org/ValueSet/nope' is not known");
    expect(error('code:below=http://snomed.info/sct|123', 'Observation').message).toBe("Parameter 'code:below': the :below modifier is not supported by this server");
  });

  it('reads :of-type as typeSystem|typeCode|value', () => {
    expect(only('identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|123')).toEqual({
      kind: 'keys',
      keys: ['identifier=to:http://terminology.hl7.org/CodeSystem/v2-0203|MR|123'],
    });
    expect(error('identifier:of-type=MR|123').message).toContain(':of-type takes typeSystem|typeCode|value');
  });

  it('reads :missing=true as having no value and rejects other values', () => {
    expect(only('gender:missing=true')).toEqual({ kind: 'no-keys', keys: ['gender'] });
    expect(only('gender:missing=false')).toEqual({ kind: 'keys', keys: ['gender'] });
    expect(error('gender:missing=maybe').message).toBe("Parameter 'gender:missing': :missing takes true or false, not 'maybe'");
  });
});

describe('reference (search.html#reference)', () => {
  it('reads Type/id, a bare id (resolved against the stored resources), and the :Type modifier', () => {
    expect(only('subject=Patient/1', 'Observation')).toEqual({ kind: 'keys', keys: ['subject=r:Patient/1'] });
    expect(only('general-practitioner=7,Organization/8')).toEqual({
      kind: 'bare-reference',
      name: 'general-practitioner',
      param: 'general-practitioner',
      targets: ['Practitioner', 'Organization', 'PractitionerRole'],
      ids: ['7'],
      keys: ['general-practitioner=r:Organization/8'],
    });
    expect(only('subject:Patient=1', 'Observation')).toEqual({ kind: 'keys', keys: ['subject=r:Patient/1'] });
  });

  it('reads an absolute URL of this server as Type/id and keeps other URLs as written', () => {
    expect(only('subject=https://fhir.example.org/fhir/Patient/1', 'Observation')).toEqual({ kind: 'keys', keys: ['subject=r:Patient/1'] });
    expect(only('subject=https://other.org/fhir/Patient/1', 'Observation')).toEqual({ kind: 'keys', keys: ['subject=r:https://other.org/fhir/Patient/1'] });
  });

  it('rejects a :Type that the parameter cannot refer to', () => {
    expect(error('subject:Medication=1', 'Observation').message).toBe("Parameter 'subject:Medication': Medication is not a target of subject (targets: Group, Device, Patient, Location)");
  });

  it('reads :identifier as a token on the reference identifier', () => {
    expect(only('subject:identifier=urn:mrn|7', 'Observation')).toEqual({ kind: 'keys', keys: ['subject=ris:urn:mrn|7'] });
  });
});

describe('date (search.html#date, #prefix)', () => {
  it('reads every prefix and the range the precision implies', () => {
    const criterion = only('birthdate=ge1974-12,lt2000') as Extract<Criterion, { kind: 'dates' }>;
    expect(criterion.conditions).toEqual([
      { prefix: 'ge', start: new Date('1974-12-01T00:00:00.000Z'), end: new Date('1974-12-31T23:59:59.999Z') },
      { prefix: 'lt', start: new Date('2000-01-01T00:00:00.000Z'), end: new Date('2000-12-31T23:59:59.999Z') },
    ]);
    for (const prefix of ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap']) {
      expect((only(`birthdate=${prefix}2000`) as Extract<Criterion, { kind: 'dates' }>).conditions[0]?.prefix).toBe(prefix);
    }
  });

  it('applies time zones and minute precision', () => {
    const criterion = only('date=2020-03-01T10:00%2B02:00', 'Observation') as Extract<Criterion, { kind: 'dates' }>;
    expect(criterion.conditions[0]).toMatchObject({ start: new Date('2020-03-01T08:00:00.000Z'), end: new Date('2020-03-01T08:00:59.999Z') });
  });

  it('reads an unencoded + before the offset, which arrives as a space', () => {
    expect(only('date=2020-03-01T10:00+02:00', 'Observation')).toEqual(only('date=2020-03-01T10:00%2B02:00', 'Observation'));
  });

  it('rejects impossible dates and unknown prefixes, naming the parameter', () => {
    for (const bad of ['2020-13', '2020-02-30', 'zz2020', '20200101', 'yesterday', '2020-01-01T25:00Z']) {
      const e = error(`birthdate=${bad}`);
      expect(e.status).toBe(400);
      expect(e.issues[0]?.expression).toEqual(['birthdate']);
      expect(e.message).toContain(`'${bad}' is not a date`);
    }
  });
});

describe('number and quantity (search.html#number, #quantity)', () => {
  it('derives the implied range from the significant digits', () => {
    expect(parseNumberCondition('n', '100')).toEqual({ prefix: 'eq', value: 100, low: 99.5, high: 100.5 });
    expect(parseNumberCondition('n', '100.00')).toMatchObject({ low: 99.995, high: 100.005 });
    expect(parseNumberCondition('n', '1e2')).toMatchObject({ low: 50, high: 150 });
    expect(parseNumberCondition('n', 'gt-0.5')).toMatchObject({ prefix: 'gt', value: -0.5 });
  });

  it('reads value|system|code and value||code', () => {
    const criterion = only('value-quantity=le5.4|http://unitsofmeasure.org|mg,5||mg', 'Observation') as Extract<Criterion, { kind: 'numbers' }>;
    expect(criterion.conditions[0]).toMatchObject({ prefix: 'le', value: 5.4, system: 'http://unitsofmeasure.org', code: 'mg' });
    expect(criterion.conditions[1]).toMatchObject({ prefix: 'eq', value: 5, code: 'mg' });
    expect(criterion.conditions[1]).not.toHaveProperty('system');
  });

  it('rejects malformed numbers and quantities', () => {
    expect(error('value-quantity=5.4|mg', 'Observation').message).toContain('is not a quantity');
    expect(error('value-quantity=five', 'Observation').message).toContain("'five' is not a number");
    expect(error('value-quantity=1..2', 'Observation').status).toBe(400);
  });
});

describe('composite (search.html#composite)', () => {
  it('splits components on $ and parses each by its own type', () => {
    const criterion = only('code-value-quantity=http://loinc.org|8480-6$gt120', 'Observation') as Extract<Criterion, { kind: 'composite' }>;
    expect(criterion.alternatives[0]).toEqual([
      { kind: 'keys', keys: ['=ts:http://loinc.org|8480-6'] },
      { kind: 'number', condition: { prefix: 'gt', value: 120, low: 119.5, high: 120.5 } },
    ]);
    expect(error('code-value-quantity=8480-6', 'Observation').message).toContain("must have 2 components separated by '$'");
  });
});

describe('chaining and _has (search.html#chaining, #has)', () => {
  it('resolves a chain on each target type that has the parameter', () => {
    expect(only('subject.name=peter', 'Observation')).toEqual({
      kind: 'chain',
      param: 'subject',
      targets: [
        { type: 'Group', criterion: { kind: 'key-prefix', prefixes: ['name=s:peter'] } },
        { type: 'Device', criterion: expect.anything() },
        { type: 'Patient', criterion: { kind: 'key-prefix', prefixes: ['name=s:peter'] } },
        { type: 'Location', criterion: { kind: 'key-prefix', prefixes: ['name=s:peter'] } },
      ].filter((t) => baseSearchParameters().get(t.type, 'name')),
    });
  });

  it('narrows a chain with :Type and nests chains', () => {
    expect(only('subject:Patient.general-practitioner:Practitioner.name=house', 'Observation')).toEqual({
      kind: 'chain',
      param: 'subject',
      targets: [{ type: 'Patient', criterion: { kind: 'chain', param: 'general-practitioner', targets: [{ type: 'Practitioner', criterion: { kind: 'key-prefix', prefixes: ['name=s:house'] } }] } }],
    });
  });

  it('reads _has with nesting', () => {
    expect(only('_has:Observation:patient:_has:AuditEvent:entity:agent=Practitioner/1')).toMatchObject({
      kind: 'has',
      type: 'Observation',
      param: 'patient',
      criterion: { kind: 'has', type: 'AuditEvent', param: 'entity', criterion: { kind: 'keys', keys: ['agent=r:Practitioner/1'] } },
    });
  });

  it('rejects chains through non-references, unknown inner parameters and too deep nesting', () => {
    expect(error('gender.name=x').message).toBe("Parameter 'gender.name': only reference parameters can be chained; gender is a token parameter");
    expect(error('subject:Patient.shoe=x', 'Observation').message).toBe("Parameter 'subject:Patient.shoe': no target of subject (Patient) has a search parameter 'shoe'");
    expect(error('_has:Observation:code:status=final').message).toBe("Parameter '_has:Observation:code:status': code is not a reference parameter of Observation");
    expect(error('link.link.link.link.link=Patient/1').message).toContain('at most 3 levels');
  });
});

describe('result parameters (search.html#return)', () => {
  it('reads _sort keys with direction and rejects what cannot be sorted', () => {
    expect(parse('_sort=-birthdate,family,_id').sort).toEqual([
      { param: 'birthdate', descending: true },
      { param: 'family', descending: false },
      { param: '_id', descending: false },
    ]);
    expect(error('_sort=shoe').message).toBe("Parameter '_sort': 'shoe' is not a sortable search parameter of Patient");
    expect(error('_sort=code-value-quantity', 'Observation').message).toContain('is not a sortable search parameter');
  });

  it('caps _count at the maximum and rejects non-integers', () => {
    expect(parse('_count=5000').count).toBe(1000);
    expect(parse('').count).toBe(20);
    expect(error('_count=-1').message).toBe("Parameter '_count': _count must be a non-negative integer, not '-1'");
  });

  it('reads _include and _revinclude with :iterate and checks the reference parameter', () => {
    const request = parse('_include=Patient:general-practitioner:Practitioner&_revinclude:iterate=Provenance:target&_include=*');
    expect(request.include).toEqual([
      { sourceType: 'Patient', param: 'general-practitioner', targetType: 'Practitioner', iterate: false },
      { sourceType: '*', param: '*', targetType: undefined, iterate: false },
    ]);
    expect(request.revinclude).toEqual([{ sourceType: 'Provenance', param: 'target', targetType: undefined, iterate: true }]);
    expect(error('_include=Patient:gender').message).toBe("Parameter '_include': gender is not a reference parameter of Patient");
    expect(error('_include=Observation:subject').message).toContain('is not the type searched');
    expect(error('_revinclude=*').message).toContain("'*' is only allowed in _include");
  });

  it('accepts only the defined _total and _summary values', () => {
    expect(parse('_total=accurate&_summary=count')).toMatchObject({ total: 'accurate', summary: 'count' });
    expect(error('_total=exact').message).toBe("Parameter '_total': 'exact' is not one of none, estimate, accurate");
    expect(error('_summary=brief').status).toBe(400);
  });
});

describe('unknown and unsupported parameters (search.html#errors)', () => {
  it('skips them when lenient, reporting each once, and applies the rest', () => {
    const request = parse('shoe=44&gender=male&_text=x&shoe=45&_contained=true');
    expect(request.ignored).toEqual([
      { name: 'shoe', reason: 'is not a search parameter of Patient' },
      { name: '_text', reason: 'is not supported by this server' },
      { name: '_contained', reason: 'is not supported by this server' },
    ]);
    expect(request.applied).toEqual([['gender', 'male']]);
  });

  it('rejects them when strict, naming the parameter', () => {
    const e = error('shoe=44', 'Patient', true);
    expect(e.message).toBe("Parameter 'shoe' is not a search parameter of Patient");
    expect(e.issues[0]?.expression).toEqual(['shoe']);
  });

  it('requires a system-level criterion to exist on every type searched', () => {
    const request = parseSearchRequest([['gender', 'male']], ['Patient', 'Observation'], options);
    expect(request.ignored).toEqual([{ name: 'gender', reason: 'is not a search parameter of Observation' }]);
    expect(request.criteria.get('Patient')).toEqual([]);
  });
});

describe('values are data (search.html#escaping)', () => {
  it('keeps operator-looking input as literal key text', () => {
    expect(only('family:exact={"$where":"sleep(1000)"}')).toEqual({ kind: 'keys', keys: ['family=x:{"$where":"sleep(1000)"}'] });
    expect(only('identifier=$gt')).toEqual({ kind: 'keys', keys: ['identifier=tc:$gt'] });
    expect(only('family:exact=.*')).toEqual({ kind: 'keys', keys: ['family=x:.*'] });
    expect(only('identifier=a\u0000b')).toEqual({ kind: 'keys', keys: ['identifier=tc:a\u0000b'] });
  });

  it('refuses an _id that is not a FHIR id', () => {
    expect(error('_id={"$ne":null}').message).toBe(`Parameter '_id': '{"$ne":null}' is not a valid resource id`);
  });
});
