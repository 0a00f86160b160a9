/**
 * capabilities (http.html#capabilities): the CapabilityStatement generated from the registry, so it lists
 * exactly the interactions the router serves. A copy is kept in capability-statement/ and checked by a test.
 */
import type { CapabilityStatement, CapabilityStatementRestResource, CapabilityStatementRestSecurity } from '@medplum/fhirtypes';
import type { Registry } from '../registry';
import type { FhirResponse } from '../fhir-request';
import type { FhirContext } from '../fhir-context';

/** The date of the statement's content; change it when the registry changes what the server offers. */
export const CAPABILITY_DATE = '2026-11-23';
export const SOFTWARE = { name: 'fhir-interop-server', version: '0.1.0' };

export function buildCapabilityStatement(registry: Registry, baseUrl: string, security?: CapabilityStatementRestSecurity): CapabilityStatement {
  const resource: CapabilityStatementRestResource[] = [...registry.types.values()].map((capabilities) => ({
    type: capabilities.type as CapabilityStatementRestResource['type'],
    profile: `http://hl7.org/fhir/StructureDefinition/${capabilities.type}`,
    interaction: [...capabilities.interactions].map((code) => ({ code })),
    versioning: 'versioned-update',
    readHistory: true,
    updateCreate: true,
    conditionalCreate: true,
    conditionalRead: 'not-supported',
    conditionalUpdate: true,
    conditionalDelete: registry.conditionalDeleteMultiple ? 'multiple' : 'single',
    referencePolicy: ['literal', 'local'],
  }));
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: CAPABILITY_DATE,
    publisher: 'fhir-interop-server contributors',
    kind: 'instance',
    software: SOFTWARE,
    implementation: { description: 'FHIR R4 interoperability server', url: baseUrl },
    fhirVersion: '4.0.1',
    format: ['application/fhir+json', 'json'],
    patchFormat: ['application/json-patch+json', 'application/fhir+json'],
    rest: [
      {
        mode: 'server',
        ...(security ? { security } : {}),
        resource,
        interaction: [...registry.systemInteractions].map((code) => ({ code })),
      },
    ],
  };
}

export function capabilities(context: FhirContext): FhirResponse {
  return { status: 200, body: buildCapabilityStatement(context.registry, context.baseUrl, context.security) };
}
