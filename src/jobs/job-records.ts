/**
 * Durable asynchronous jobs (DESIGN.md "jobs/"): each job is a record with its progress and the position to
 * resume from, so a restart continues where the job stopped. Kept with mongoose like the server's other
 * non-FHIR records.
 */
import { Schema, type Connection, type Model } from 'mongoose';

export type JobStatus = 'queued' | 'running' | 'completed' | 'failed';

export interface JobRecord {
  _id: string;
  kind: string;
  tenant: string;
  status: JobStatus;
  /** What the job works on (its own shape per kind). */
  input: Record<string, unknown>;
  /** Where to resume (its own shape per kind). */
  position: Record<string, unknown>;
  processed: number;
  /** Not to run before this time (absent: at once). */
  runAt?: Date;
  error?: string;
  createdAt: Date;
  updatedAt: Date;
}

const schema = new Schema<JobRecord>(
  {
    _id: String,
    kind: { type: String, required: true },
    tenant: { type: String, required: true },
    status: { type: String, required: true, enum: ['queued', 'running', 'completed', 'failed'] },
    input: { type: Schema.Types.Mixed, default: {} },
    position: { type: Schema.Types.Mixed, default: {} },
    processed: { type: Number, default: 0 },
    runAt: Date,
    error: String,
  },
  { collection: 'jobs', timestamps: true, minimize: false },
);
schema.index({ status: 1, createdAt: 1 });
schema.index({ status: 1, runAt: 1 });

export type JobModel = Model<JobRecord>;

export async function openJobRecords(connection: Connection): Promise<JobModel> {
  const model = connection.models.Job ? (connection.models.Job as JobModel) : connection.model<JobRecord>('Job', schema);
  await model.init();
  return model;
}
