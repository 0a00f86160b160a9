/**
 * Validation on write against the base R4 definitions (issue: REST core): every problem with its FHIRPath
 * location; and, on the official R4 validator test cases, the server never rejects a resource the reference
 * validator accepts.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { validateResource } from '../../src/validation/validate-resource';

const at = (resource: unknown, expectedType?: string) =>
  validateResource(resource, { expectedType }).map((issue) => [issue.code, issue.expression.join(',')]);

describe('validateResource', () => {
  it('accepts a valid resource', () => {
    expect(validateResource({ resourceType: 'Patient', gender: 'female', birthDate: '1970-01-01', name: [{ use: 'official', family: 'A' }] })).toEqual([]);
  });

  it('reports a malformed date as a value error at its element', () => {
    expect(at({ resourceType: 'Patient', birthDate: '1990-13-01' })).toEqual([['value', 'Patient.birthDate']]);
  });

  it('reports unknown elements, wrong types and missing required elements all at once', () => {
    const issues = at({ resourceType: 'Observation', valueString: 5, bogus: true });
    expect(issues.map(([, where]) => where)).toEqual(expect.arrayContaining(['Observation.status', 'Observation.code', 'Observation.bogus', 'Observation.value[x]']));
  });

  it('reports an invalid id', () => {
    expect(at({ resourceType: 'Patient', id: 'has spaces' })).toEqual([['value', 'Patient.id']]);
  });

  it('reports a code outside a required value set, also in nested elements', () => {
    expect(at({ resourceType: 'Patient', gender: 'robot', name: [{ use: 'weird' }] })).toEqual([
      ['code-invalid', 'Patient.gender'],
      ['code-invalid', 'Patient.name[0].use'],
    ]);
  });

  it('rejects an unknown resourceType and a type other than expected', () => {
    expect(at({ resourceType: 'Spaceship' })).toEqual([['structure', 'resourceType']]);
    expect(at({ resourceType: 'Patient' }, 'Observation')).toEqual([['invalid', 'resourceType']]);
    expect(at([1, 2])).toEqual([['structure', '']]);
  });
});

const CASES = path.resolve(__dirname, '../../../shared/data/fhir-test-cases-validator-r4');
const describeCases = existsSync(CASES) ? describe : describe.skip;
if (!existsSync(CASES)) console.warn(`Validator test cases not found at ${CASES}: skipping them`);

interface TestCase {
  name: string;
  file: string;
  format: string;
  supporting: string[];
  profile?: unknown;
  txServerIssues?: boolean;
  allFilesPresent?: boolean;
  expected: { error: number } | null;
}

/** The reference validator's verdict and ours on each in-scope case (read only when the cases are there). */
function verdictsOnCases(): { name: string; expectedInvalid: boolean; invalid: boolean }[] {
  const { cases } = JSON.parse(readFileSync(path.join(CASES, '_r4-selected-index.json'), 'utf8')) as { cases: TestCase[] };
  const inScope = cases.filter((c) => c.format === 'json' && c.expected && c.supporting.length === 0 && !c.profile && !c.txServerIssues && c.allFilesPresent);
  return inScope.flatMap((c) => {
    let resource: unknown;
    try {
      resource = JSON.parse(readFileSync(path.join(CASES, c.file), 'utf8'));
    } catch {
      return [];
    }
    return [{ name: c.name, expectedInvalid: (c.expected?.error ?? 0) > 0, invalid: validateResource(resource).some((i) => i.severity === 'error') }];
  });
}

// jest runs the body of a skipped describe too (to collect its tests), so the cases are read in beforeAll.
describeCases('official R4 validator cases (base structure, JSON, no profiles or terminology server)', () => {
  let verdicts: ReturnType<typeof verdictsOnCases>;
  beforeAll(() => {
    verdicts = verdictsOnCases();
  });

  it('never rejects a resource the reference validator accepts', () => {
    expect(verdicts.filter((v) => !v.expectedInvalid && v.invalid).map((v) => v.name)).toEqual([]);
  });

  it('agrees with the reference validator on at least 62 of the 97 parseable cases', () => {
    const agree = verdicts.filter((v) => v.expectedInvalid === v.invalid).length;
    expect(verdicts).toHaveLength(97);
    expect(agree).toBeGreaterThanOrEqual(62);
  });
});
