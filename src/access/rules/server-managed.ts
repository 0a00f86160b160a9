/**
 * Resources the server writes only through its own operations, because their content carries authority: record
 * lock Flags ($lock, $unlock) and elevated-permission Tasks ($request-elevation, $approve-elevation,
 * $revoke-elevation). Writing them on any other path (direct, conditional, Bundle entries) is refused.
 */
import type { Criterion } from '../../search/search-request';
import { readsData, type AccessRule, type RuleAnswer } from '../access-policy';
import { lockCodeKeys } from '../record-locks';
import { elevationCodeKey } from '../elevations';

export const SERVER_MANAGED_RULE = 'server-managed';

const MANAGED: Readonly<Record<string, { keys: () => string[]; reason: string }>> = {
  Flag: { keys: lockCodeKeys, reason: 'record locks are placed and lifted only with the $lock and $unlock operations' },
  Task: { keys: () => [elevationCodeKey()], reason: 'elevated permissions are requested, approved and revoked only with the $request-elevation, $approve-elevation and $revoke-elevation operations' },
};

export function serverManagedRule(): AccessRule {
  return {
    name: SERVER_MANAGED_RULE,
    decide: ({ interaction, resourceType }): RuleAnswer => {
      const managed = MANAGED[resourceType];
      if (!managed || readsData(interaction)) return { kind: 'abstain' };
      const filter: Criterion[] = [{ kind: 'no-keys', keys: managed.keys() }];
      return { kind: 'restrict', filter, reasons: [managed.reason] };
    },
  };
}
