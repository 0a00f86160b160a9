/**
 * AuditEvent/$verify-chain (profiles/OperationDefinition-AuditEvent-verify-chain.json): the organization's audit
 * trail proven intact, or its first broken link named (src/audit/verify-audit-chain.ts). It reads every AuditEvent
 * of the organization, so the caller must be allowed to search all of them.
 */
import type { Parameters, ParametersParameter } from '@medplum/fhirtypes';
import type { FhirRequest, FhirResponse } from '../fhir-request';
import type { FhirContext } from '../fhir-context';
import { readOperationDefinition, type Operation } from './operation';
import { verifyAuditChain } from '../../audit/verify-audit-chain';
import { FhirError } from '../../errors';
import { refusedBy } from '../../access/access-policy';

export const auditEventVerifyChain: Operation = {
  name: 'verify-chain',
  definition: readOperationDefinition('AuditEvent-verify-chain'),
  async run(_request: FhirRequest, context: FhirContext, _target, parameters: Parameters): Promise<FhirResponse> {
    const unknown = parameters.parameter?.[0];
    if (unknown) throw new FhirError('invalid', `$verify-chain takes no parameters; '${String(unknown.name).slice(0, 80)}' is not one`, { expression: [String(unknown.name).slice(0, 80)] });
    context.access.require('search-type', 'AuditEvent');
    if (context.access.confines('search-type', 'AuditEvent')) {
      throw refusedBy(
        'whole-audit-trail',
        '$verify-chain reads every AuditEvent of the organization; this access token may read only some of them',
        "Ask an auditor of your organization whose access to the audit trail is not confined to some patients (an organization administrator) to verify the chain, or run 'npm run audit:verify' on the server.",
      );
    }
    const verdict = await verifyAuditChain(context.store);
    const parameter: ParametersParameter[] = [
      { name: 'valid', valueBoolean: verdict.valid },
      { name: 'checked', valueDecimal: verdict.checked },
    ];
    if (verdict.head) {
      parameter.push({ name: 'head', part: [{ name: 'sequence', valueDecimal: verdict.head.sequence }, { name: 'hash', valueString: verdict.head.hash }] });
    }
    if (verdict.broken) {
      const { sequence, id, reason } = verdict.broken;
      parameter.push({
        name: 'brokenLink',
        part: [
          ...(sequence !== undefined ? [{ name: 'sequence', valueDecimal: sequence }] : []),
          ...(id !== undefined ? [{ name: 'auditEvent', valueReference: { reference: `AuditEvent/${id}` } }] : []),
          { name: 'reason', valueString: reason },
        ],
      });
    }
    return { status: 200, body: { resourceType: 'Parameters', parameter } };
  },
};
