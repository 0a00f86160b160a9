/**
 * capabilities (http.html#capabilities): the CapabilityStatement generated from the registry, so it lists
 * exactly the interactions the router serves. A copy is kept in capability-statement/ and checked by a test.
 */
import type { CapabilityStatement, CapabilityStatementRestResource, CapabilityStatementRestResourceSearchParam, CapabilityStatementRestSecurity } from '@medplum/fhirtypes';
import type { Registry } from '../registry';
import type { FhirResponse } from '../fhir-request';
import type { FhirContext } from '../fhir-context';
import type { SearchParameterRegistry } from '../../search/search-parameters';

/** The date of the statement's content; change it when the registry changes what the server offers. */
export const CAPABILITY_DATE = '2026-11-23';
export const SOFTWARE = { name: 'fhir-interop-server', version: '0.1.0' };

/** `_id` and `_lastUpdated` are searched on stored fields rather than indexed values, so they are listed by hand. */
const COMMON: CapabilityStatementRestResourceSearchParam[] = [
  { name: '_id', definition: 'http://hl7.org/fhir/SearchParameter/Resource-id', type: 'token', documentation: 'Logical id of this artifact' },
  { name: '_lastUpdated', definition: 'http://hl7.org/fhir/SearchParameter/Resource-lastUpdated', type: 'date', documentation: 'When the resource version last changed' },
];

function searchParams(parameters: SearchParameterRegistry, type: string): CapabilityStatementRestResourceSearchParam[] {
  return [
    ...COMMON,
    ...parameters.indexed(type).map((definition) => ({
      name: definition.code,
      definition: definition.url,
      type: definition.type as CapabilityStatementRestResourceSearchParam['type'],
      documentation: definition.description.split('\n')[0]?.trim() || definition.code,
    })),
  ];
}

/** The operations offered on a type (type or instance level), or on the base (system level). */
function operationsOf(registry: Registry, type: string | undefined): { operation?: { name: string; definition: string }[] } {
  const offered = [...registry.operations.values()].filter(({ definition }) =>
    type === undefined ? definition.system === true : (definition.resource ?? []).includes(type as never) && (definition.type === true || definition.instance === true),
  );
  return offered.length > 0 ? { operation: offered.map((op) => ({ name: op.name, definition: op.definition.url as string })) } : {};
}

/** `Source:param` for every reference parameter of every type that may point at `type`. */
function revIncludes(registry: Registry, parameters: SearchParameterRegistry, type: string): string[] {
  return [...registry.types.keys()].flatMap((source) =>
    parameters
      .indexed(source)
      .filter((d) => d.type === 'reference' && (d.targets.length === 0 || d.targets.includes(type)))
      .map((d) => `${source}:${d.code}`),
  );
}

export function buildCapabilityStatement(registry: Registry, parameters: SearchParameterRegistry, baseUrl: string, security?: CapabilityStatementRestSecurity): CapabilityStatement {
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
    searchInclude: ['*', ...parameters.indexed(capabilities.type).filter((d) => d.type === 'reference').map((d) => `${capabilities.type}:${d.code}`)],
    searchRevInclude: revIncludes(registry, parameters, capabilities.type),
    searchParam: searchParams(parameters, capabilities.type),
    ...operationsOf(registry, capabilities.type),
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
        ...operationsOf(registry, undefined),
        // the parameters every type has (defined on Resource) are the ones a search across types can use
        searchParam: searchParams(parameters, 'Patient').filter((p) => p.definition?.startsWith('http://hl7.org/fhir/SearchParameter/Resource-')),
      },
    ],
  };
}

/** Statements already built, per registry and base URL: the same data always yields the same statement (about 1 MB). */
const built = new WeakMap<Registry, Map<string, CapabilityStatement>>();

export function capabilities(context: FhirContext): FhirResponse {
  let perBase = built.get(context.registry);
  if (!perBase) {
    perBase = new Map();
    built.set(context.registry, perBase);
  }
  let statement = perBase.get(context.baseUrl);
  if (!statement) {
    statement = buildCapabilityStatement(context.registry, context.searchParameters, context.baseUrl, context.security);
    perBase.set(context.baseUrl, statement);
  }
  return { status: 200, body: statement };
}
