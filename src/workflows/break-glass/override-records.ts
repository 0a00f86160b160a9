/**
 * The emergency accesses (break-the-glass overrides) of every organization, as the server's own records (DESIGN.md
 * "Storage": mongoose for non-FHIR records): who, for which patient, why, from when until when, and how it ended.
 * The record is what the scheduled end and the revocations agree on; its compliance review item is the FHIR Task
 * with the same id in the organization's store (build-review-task.ts).
 */
import { Schema, type Connection, type Model } from 'mongoose';
import { PERSONAS, type Persona } from '../../auth/principal';

/** `active` until the token expires (`expired`) or is revoked (`revoked`: token revocation, sign-out or an administrator). */
export const OVERRIDE_STATUSES = ['active', 'expired', 'revoked'] as const;
export type OverrideStatus = (typeof OVERRIDE_STATUSES)[number];

export interface OverrideRecord {
  /** The override id; also the id of its review Task. */
  _id: string;
  /** oidc-provider's grant, whose one access token carries the override. */
  grantId: string;
  tenant: string;
  accountId: string;
  userName: string;
  role: Persona;
  fhirUser?: string;
  clientId: string;
  /** Patient id. */
  patient: string;
  /** v3 PurposeOfUse code. */
  purpose: string;
  reason: string;
  startedAt: Date;
  expiresAt: Date;
  status: OverrideStatus;
  endedAt?: Date;
  /** The administrator who revoked it; absent when it expired or its token was revoked by the app or sign-out. */
  endedBy?: { account: string; name: string };
}

const schema = new Schema<OverrideRecord>(
  {
    _id: { type: String, required: true },
    grantId: { type: String, required: true, unique: true },
    tenant: { type: String, required: true },
    accountId: { type: String, required: true },
    userName: { type: String, required: true },
    role: { type: String, required: true, enum: PERSONAS },
    fhirUser: String,
    clientId: { type: String, required: true },
    patient: { type: String, required: true },
    purpose: { type: String, required: true },
    reason: { type: String, required: true },
    startedAt: { type: Date, required: true },
    expiresAt: { type: Date, required: true },
    status: { type: String, required: true, enum: OVERRIDE_STATUSES },
    endedAt: Date,
    endedBy: { type: new Schema({ account: { type: String, required: true }, name: { type: String, required: true } }, { _id: false }), default: undefined },
  },
  { collection: 'break_glass_overrides', versionKey: false, minimize: false },
);
schema.index({ tenant: 1, startedAt: -1 });

export type OverrideModel = Model<OverrideRecord>;

export async function openOverrideRecords(connection: Connection): Promise<OverrideModel> {
  const model = connection.models.BreakGlassOverride ? (connection.models.BreakGlassOverride as OverrideModel) : connection.model<OverrideRecord>('BreakGlassOverride', schema);
  await model.init();
  return model;
}
