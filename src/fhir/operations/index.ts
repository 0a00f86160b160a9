/** The extended operations the server offers (operations.html), each with its OperationDefinition in profiles/. */
import type { Operation } from './operation';
import { patientEverything } from './patient-everything';
import { patientLock, patientUnlock } from './patient-lock';
import { patientShare } from './patient-share';
import { approveElevation, requestElevation, revokeElevation } from './elevation';
import { auditEventVerifyChain } from './audit-event-verify-chain';

export const OPERATIONS: readonly Operation[] = [patientEverything, patientLock, patientUnlock, patientShare, requestElevation, approveElevation, revokeElevation, auditEventVerifyChain];
