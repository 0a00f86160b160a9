/**
 * What the server supports, declared once as data (DESIGN.md example 9): the interactions of every resource
 * type and of the whole system. The router dispatches from it and the CapabilityStatement is generated from
 * it, so the statement lists exactly what works. capabilitystatement.html, http.html
 */
import { listResourceTypes } from '../definitions';
import type { Operation } from './operations/operation';

/** Type-level and instance-level interactions (CapabilityStatement.rest.resource.interaction.code). */
export const TYPE_INTERACTIONS = ['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'history-type', 'create', 'search-type'] as const;
export type TypeInteraction = (typeof TYPE_INTERACTIONS)[number];

/** Whole-system interactions (CapabilityStatement.rest.interaction.code). */
export const SYSTEM_INTERACTIONS = ['transaction', 'batch', 'history-system', 'search-system'] as const;
export type SystemInteraction = (typeof SYSTEM_INTERACTIONS)[number];

export interface TypeCapabilities {
  readonly type: string;
  readonly interactions: ReadonlySet<TypeInteraction>;
}

export interface Registry {
  readonly types: ReadonlyMap<string, TypeCapabilities>;
  readonly systemInteractions: ReadonlySet<SystemInteraction>;
  /** Conditional delete may remove several matches (CapabilityStatement conditionalDelete = multiple). */
  readonly conditionalDeleteMultiple: boolean;
  /** Extended operations (`$name`), by code. */
  readonly operations: ReadonlyMap<string, Operation>;
}

/** Every R4 resource type with the full interaction set. */
export function buildRegistry(options: { conditionalDeleteMultiple: boolean; operations: readonly Operation[] }): Registry {
  const interactions = new Set<TypeInteraction>(TYPE_INTERACTIONS);
  const types = new Map<string, TypeCapabilities>();
  for (const type of listResourceTypes()) types.set(type, { type, interactions });
  return {
    types,
    systemInteractions: new Set<SystemInteraction>(SYSTEM_INTERACTIONS),
    conditionalDeleteMultiple: options.conditionalDeleteMultiple,
    operations: new Map(options.operations.map((operation) => [operation.name, operation])),
  };
}
