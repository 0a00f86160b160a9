/**
 * SMART App Launch 2.x, scopes-and-launch-context.html: resource scopes `context/Type.permissions[?query]` in
 * v2 syntax (cruds letters in canonical order, granular constraints) and v1 syntax (read, write, *), plus the
 * launch and identity scopes. Invalid scopes are rejected with the reason.
 */
import { parseScope, parseScopes, permissionLetters, scopeCovers, ScopeSyntaxError } from '../../src/auth/smart-scopes';
import type { SmartScope } from '../../src/auth/principal';

function resource(raw: string): SmartScope {
  const parsed = parseScope(raw);
  if (parsed.kind !== 'resource') throw new Error(`${raw} is not a resource scope`);
  return parsed.scope;
}

function reason(raw: string): string {
  try {
    parseScope(raw);
  } catch (error) {
    expect(error).toBeInstanceOf(ScopeSyntaxError);
    return (error as Error).message;
  }
  throw new Error(`${raw} was accepted`);
}

describe('v2 resource scopes', () => {
  it('reads context, type and the permission letters', () => {
    const scope = resource('patient/Observation.rs');
    expect(scope).toMatchObject({ raw: 'patient/Observation.rs', context: 'patient', resourceType: 'Observation' });
    expect([...scope.interactions]).toEqual(['r', 's']);
    expect(scope.query).toBeUndefined();
  });

  it('accepts every non-empty subset of cruds in canonical order', () => {
    for (const letters of ['c', 'r', 'u', 'd', 's', 'cr', 'cruds', 'rs', 'cud', 'ds', 'crs', 'uds']) {
      expect(permissionLetters(resource(`user/Patient.${letters}`))).toBe(letters);
    }
  });

  it('accepts the wildcard type in every context', () => {
    expect(resource('system/*.cruds')).toMatchObject({ context: 'system', resourceType: '*' });
    expect(resource('user/*.rs').context).toBe('user');
  });

  it('keeps a granular constraint as the raw query string', () => {
    const scope = resource('patient/Observation.rs?category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory');
    expect(scope.query).toBe('category=http://terminology.hl7.org/CodeSystem/observation-category|laboratory');
    expect(resource('user/Condition.rs?category=problem-list-item&clinical-status=active').query).toBe('category=problem-list-item&clinical-status=active');
  });

  it('rejects letters out of canonical order', () => {
    expect(reason('patient/Observation.sr')).toContain('in the order c, r, u, d, s');
  });

  it('rejects a repeated letter', () => {
    expect(reason('patient/Observation.rrs')).toContain('in the order c, r, u, d, s');
  });

  it('rejects a letter that is not a permission', () => {
    expect(reason('patient/Observation.rx')).toContain("'x' is not a permission");
  });

  it('rejects an empty permission part', () => {
    expect(reason('patient/Observation.')).toContain('no permissions after the dot');
  });

  it('rejects a missing permission part', () => {
    expect(reason('patient/Observation')).toContain('missing .permissions');
  });

  it('rejects an unknown resource type', () => {
    expect(reason('patient/Observations.rs')).toContain("'Observations' is not an R4 resource type");
  });

  it('rejects an unknown context', () => {
    expect(reason('practitioner/Observation.rs')).toContain("'practitioner' is not a scope context");
  });

  it('rejects an empty or malformed constraint', () => {
    expect(reason('patient/Observation.rs?')).toContain('empty query');
    expect(reason('patient/Observation.rs?category')).toContain("'category' is not a name=value");
    expect(reason('patient/Observation.rs?category=a&')).toContain("'' is not a name=value");
  });
});

describe('v1 resource scopes', () => {
  it('maps read to r and s', () => {
    expect(permissionLetters(resource('patient/Observation.read'))).toBe('rs');
  });

  it('maps write to c, u and d', () => {
    expect(permissionLetters(resource('user/*.write'))).toBe('cud');
  });

  it('maps * to every interaction', () => {
    expect(permissionLetters(resource('system/*.*'))).toBe('cruds');
  });

  it('rejects a granular constraint on v1 permissions', () => {
    expect(reason('patient/Observation.read?category=laboratory')).toContain('need SMART v2 permissions');
  });
});

describe('launch and identity scopes', () => {
  it.each(['launch', 'launch/patient', 'launch/encounter', 'openid', 'fhirUser', 'profile', 'offline_access', 'online_access'])('accepts %s', (raw) => {
    expect(parseScope(raw)).toEqual({ kind: 'context', name: raw });
  });

  it('rejects an unknown launch context', () => {
    expect(reason('launch/location')).toContain('unknown launch context');
  });

  it('rejects an unknown bare scope', () => {
    expect(reason('email_address')).toContain('unknown scope');
  });
});

describe('a scope parameter', () => {
  it('splits on spaces, ignores repeats and sorts scopes by kind', () => {
    const set = parseScopes('launch/patient openid  patient/Observation.rs patient/Observation.rs offline_access admin:clients');
    expect(set.resource.map((s) => s.raw)).toEqual(['patient/Observation.rs']);
    expect(set.context).toEqual(['launch/patient', 'openid', 'offline_access']);
    expect(set.management).toEqual(['admin:clients']);
  });

  it('fails on the first invalid scope', () => {
    expect(() => parseScopes('openid patient/Foo.rs')).toThrow("invalid scope 'patient/Foo.rs'");
  });
});

describe('scope coverage (a client kept within its registered scopes)', () => {
  it('lets a wildcard type cover a specific type with fewer permissions', () => {
    expect(scopeCovers(resource('patient/*.read'), resource('patient/Observation.rs'))).toBe(true);
    expect(scopeCovers(resource('patient/*.rs'), resource('patient/Observation.r'))).toBe(true);
  });

  it('does not let fewer permissions cover more', () => {
    expect(scopeCovers(resource('patient/*.rs'), resource('patient/Observation.cruds'))).toBe(false);
  });

  it('does not cross contexts', () => {
    expect(scopeCovers(resource('patient/*.*'), resource('user/Observation.rs'))).toBe(false);
  });

  it('does not let a constrained scope cover an unconstrained one', () => {
    expect(scopeCovers(resource('patient/Observation.rs?category=laboratory'), resource('patient/Observation.rs'))).toBe(false);
    expect(scopeCovers(resource('patient/Observation.rs'), resource('patient/Observation.rs?category=laboratory'))).toBe(true);
  });
});
