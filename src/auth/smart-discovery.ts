/**
 * What the server declares about its SMART support, as data (DESIGN.md example 9): the discovery document
 * (SMART App Launch 2.x, conformance.html#metadata) and the CapabilityStatement's rest.security block
 * (conformance.html#declaring-support-for-oauth2-endpoints) come from the same endpoints and lists, and each
 * capability listed is one the tests exercise.
 */
import { ASSERTION_ALGORITHMS } from './client-applications';
import { STATIC_SCOPES } from './authorization-server';

/** SMART capabilities this server implements (conformance.html#capabilities). */
export const SMART_CAPABILITIES = [
  'launch-ehr',
  'launch-standalone',
  'authorize-post',
  'client-public',
  'client-confidential-symmetric',
  'client-confidential-asymmetric',
  'context-ehr-patient',
  'context-ehr-encounter',
  'context-standalone-patient',
  'context-passthrough-banner',
  'context-passthrough-style',
  'permission-offline',
  'permission-online',
  'permission-patient',
  'permission-user',
  'permission-v1',
  'permission-v2',
  'sso-openid-connect',
] as const;

/** Example resource scopes listed in scopes_supported (the grammar accepts every type and permission subset). */
const EXAMPLE_RESOURCE_SCOPES = ['patient/*.rs', 'patient/*.cruds', 'user/*.rs', 'user/*.cruds', 'system/*.rs', 'system/*.cruds', 'patient/*.read', 'user/*.read', 'system/*.read', 'patient/*.*', 'user/*.*', 'system/*.*'];

export interface SmartEndpoints {
  readonly issuer: string;
  readonly fhirBaseUrl: string;
}

export function authorizationEndpoints({ issuer }: SmartEndpoints) {
  return {
    authorize: `${issuer}/auth`,
    token: `${issuer}/token`,
    introspection: `${issuer}/token/introspection`,
    revocation: `${issuer}/token/revocation`,
    jwks: `${issuer}/jwks`,
    userinfo: `${issuer}/me`,
    management: `${issuer.replace(/\/auth$/, '')}/admin/clients`,
  };
}

/** The `.well-known/smart-configuration` document. */
export function buildSmartConfiguration(endpoints: SmartEndpoints): Record<string, unknown> {
  const urls = authorizationEndpoints(endpoints);
  return {
    issuer: endpoints.issuer,
    jwks_uri: urls.jwks,
    authorization_endpoint: urls.authorize,
    token_endpoint: urls.token,
    introspection_endpoint: urls.introspection,
    revocation_endpoint: urls.revocation,
    userinfo_endpoint: urls.userinfo,
    management_endpoint: urls.management,
    grant_types_supported: ['authorization_code', 'client_credentials', 'refresh_token'],
    response_types_supported: ['code'],
    token_endpoint_auth_methods_supported: ['none', 'client_secret_basic', 'client_secret_post', 'private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: [...ASSERTION_ALGORITHMS],
    code_challenge_methods_supported: ['S256'],
    scopes_supported: [...STATIC_SCOPES, ...EXAMPLE_RESOURCE_SCOPES],
    capabilities: [...SMART_CAPABILITIES],
  };
}

/** CapabilityStatement.rest.security: the SMART-on-FHIR service and the oauth-uris extension. */
export function buildCapabilitySecurity(endpoints: SmartEndpoints) {
  const urls = authorizationEndpoints(endpoints);
  return {
    cors: true,
    service: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/restful-security-service', code: 'SMART-on-FHIR' }], text: 'OAuth2 using SMART-on-FHIR profile (see http://docs.smarthealthit.org)' }],
    description: 'Every request but GET /metadata needs a bearer access token from the SMART authorization server (App Launch 2.x, Backend Services).',
    extension: [
      {
        url: 'http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris',
        extension: [
          { url: 'token', valueUri: urls.token },
          { url: 'authorize', valueUri: urls.authorize },
          { url: 'introspect', valueUri: urls.introspection },
          { url: 'revoke', valueUri: urls.revocation },
          { url: 'manage', valueUri: urls.management },
        ],
      },
    ],
  };
}
