/** The extended operations the server offers (operations.html), each with its OperationDefinition in profiles/. */
import type { Operation } from './operation';
import { patientEverything } from './patient-everything';
import { auditEventVerifyChain } from './audit-event-verify-chain';

export const OPERATIONS: readonly Operation[] = [patientEverything, auditEventVerifyChain];
