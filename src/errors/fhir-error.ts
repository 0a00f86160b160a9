/**
 * The one error type of the server (DESIGN.md example 5, after node-oidc-provider's errors.js): a stable code,
 * its HTTP status from the single table below, and the OperationOutcome issues a client receives. Messages
 * people read are English; Spanish texts are looked up by code when the client asks (Accept-Language: es).
 */
import type { OperationOutcome, OperationOutcomeIssue } from '@medplum/fhirtypes';

/** Every error code with its HTTP status and FHIR IssueType (valueset-issue-type). */
export const ERROR_CATALOGUE = {
  invalid: { status: 400, issueCode: 'invalid', es: 'La solicitud no es válida' },
  'invalid-search': { status: 400, issueCode: 'invalid', es: 'Los parámetros de búsqueda no son válidos' },
  'too-costly': { status: 400, issueCode: 'too-costly', es: 'La búsqueda es demasiado amplia; restrínjala' },
  unauthorized: { status: 401, issueCode: 'login', es: 'Se requiere autenticación' },
  forbidden: { status: 403, issueCode: 'forbidden', es: 'No tiene permiso para esta operación' },
  'not-found': { status: 404, issueCode: 'not-found', es: 'El recurso no existe' },
  'method-not-allowed': { status: 405, issueCode: 'not-supported', es: 'El método no está permitido en esta ruta' },
  'not-acceptable': { status: 406, issueCode: 'not-supported', es: 'El formato solicitado no está disponible' },
  conflict: { status: 409, issueCode: 'conflict', es: 'La operación entra en conflicto con el estado actual' },
  gone: { status: 410, issueCode: 'deleted', es: 'El recurso fue eliminado' },
  'precondition-failed': { status: 412, issueCode: 'conflict', es: 'No se cumple la condición de la solicitud' },
  'too-large': { status: 413, issueCode: 'too-long', es: 'El cuerpo de la solicitud es demasiado grande' },
  'unsupported-media-type': { status: 415, issueCode: 'not-supported', es: 'El tipo de contenido no es compatible' },
  unprocessable: { status: 422, issueCode: 'processing', es: 'La solicitud no puede procesarse' },
  unavailable: { status: 503, issueCode: 'transient', es: 'El servicio no está disponible temporalmente' },
  internal: { status: 500, issueCode: 'exception', es: 'Error interno del servidor' },
} as const;

export type FhirErrorCode = keyof typeof ERROR_CATALOGUE;

export interface FhirErrorOptions {
  /** FHIRPath locations of the problem. */
  readonly expression?: string[];
  /** Further issues reported with the first (e.g. every validation problem). */
  readonly issues?: OperationOutcomeIssue[];
  /** For a refusal by the access policy: the rule that decided it (recorded in the audit trail). */
  readonly rule?: string;
}

export class FhirError extends Error {
  readonly code: FhirErrorCode;
  readonly status: number;
  readonly issues: OperationOutcomeIssue[];
  readonly rule: string | undefined;

  constructor(code: FhirErrorCode, diagnostics: string, options: FhirErrorOptions = {}) {
    super(diagnostics);
    this.name = 'FhirError';
    this.code = code;
    this.rule = options.rule;
    this.status = ERROR_CATALOGUE[code].status;
    const first: OperationOutcomeIssue = {
      severity: 'error',
      code: ERROR_CATALOGUE[code].issueCode,
      diagnostics,
      ...(options.expression && options.expression.length > 0 ? { expression: options.expression } : {}),
    };
    this.issues = options.issues && options.issues.length > 0 ? options.issues : [first];
  }

  /** The same error located inside a larger document (e.g. a Bundle entry): prefixes messages and paths. */
  atLocation(prefix: string): FhirError {
    const issues = this.issues.map((issue) => ({
      ...issue,
      diagnostics: `${prefix}: ${issue.diagnostics ?? ''}`,
      expression: (issue.expression ?? []).map((e) => `${prefix}.${e}`).concat(issue.expression ? [] : [prefix]),
    }));
    return new FhirError(this.code, `${prefix}: ${this.message}`, { issues, ...(this.rule ? { rule: this.rule } : {}) });
  }

  /** The OperationOutcome for the client; `language` 'es' adds the Spanish text of the code. */
  toOperationOutcome(language: 'en' | 'es' = 'en'): OperationOutcome {
    const issue = this.issues.map((i) => (language === 'es' ? { ...i, details: { text: ERROR_CATALOGUE[this.code].es } } : i));
    return { resourceType: 'OperationOutcome', issue };
  }
}
