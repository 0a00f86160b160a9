/**
 * The project's own definitions (profiles/: StructureDefinitions, SearchParameters, OperationDefinitions) are what
 * the server publishes and reads at start; each must be a valid R4 resource (resource.html, validation.html).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Resource } from '@medplum/fhirtypes';
import { assertValid } from '../../src/validation/assert-valid';
import { PROFILES_DIR } from '../../src/search/search-parameters';

const files = readdirSync(PROFILES_DIR).filter((file) => file.endsWith('.json'));

describe('profiles/', () => {
  it.each(files)('%s is a valid R4 resource named after its type and id', (file) => {
    const resource = JSON.parse(readFileSync(path.join(PROFILES_DIR, file), 'utf8')) as Resource;
    expect(file).toBe(`${resource.resourceType}-${resource.id}.json`);
    expect(() => assertValid(resource, resource.resourceType)).not.toThrow();
  });
});
