export { ERROR_CATALOGUE, FhirError, type FhirErrorCode, type FhirErrorOptions } from './fhir-error';
