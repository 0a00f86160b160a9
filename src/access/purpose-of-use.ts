/**
 * The purpose of use of a request (HL7 v3 PurposeOfUse, terminology.hl7.org/ValueSet/v3-PurposeOfUse): emergency
 * treatment under break-the-glass, treatment for clinical staff, operations for administrative staff and system
 * clients, the patient's own request. Consent provisions and audit records are expressed in these codes.
 */
import type { Principal } from '../auth/principal';

export const PURPOSE_OF_USE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';

const CLINICAL = new Set(['doctor', 'nurse', 'technician']);

/** The purpose of use a request is made for. */
export function purposeOfUse(principal: Principal, now = Date.now()): string {
  if (principal.breakGlass && principal.breakGlass.expiresAt.getTime() > now) return 'ETREAT';
  if (principal.role === 'patient') return 'PATRQT';
  if (principal.role && CLINICAL.has(principal.role)) return 'TREAT';
  return 'HOPERAT';
}
