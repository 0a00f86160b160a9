/**
 * explain: the plan a find, aggregate, count or distinct runs, in mongod's `queryPlanner` shape (the winner of the
 * trial and the rejected candidates, or the plan cached for the query's shape), so that tests and benchmarks read
 * the chosen index the same way from the engine and from mongod. The trial runs, as on mongod; the command does not.
 * https://www.mongodb.com/docs/manual/reference/command/explain/
 */
import type { Document } from 'bson';
import { collectionName, optionalDocument, type CommandContext, type CommandHandler } from './command-context';
import { parseCountQuery, parseFindQuery, splitPipelineQuery } from './read-commands';
import { CommandError } from '../errors';
import { describeStages } from '../engine/plan-stages';
import type { QueryOptions } from '../engine/data-access';

/** The query each explainable command runs, by command name. */
const QUERIES: ReadonlyMap<string, (command: Document) => { options: QueryOptions; rest?: Document[] }> = new Map([
  ['find', (command: Document) => ({ options: parseFindQuery(command) })],
  ['count', (command: Document) => ({ options: parseCountQuery(command) })],
  ['distinct', (command: Document) => ({ options: { filter: optionalDocument(command, 'query') } })],
  ['aggregate', (command: Document) => splitPipelineQuery(Array.isArray(command.pipeline) ? (command.pipeline as Document[]) : [])],
]);

export const explain: CommandHandler = (command, context) => {
  const explained = optionalDocument(command, 'explain');
  if (!explained) throw new CommandError('FailedToParse', 'explain command requires a nested object');
  const name = Object.keys(explained)[0] ?? '';
  const query = QUERIES.get(name);
  if (!query) throw new CommandError('CommandNotFound', `explain of ${name} is not supported by the embedded engine`);
  const collection = collectionName(explained, name);
  const { options, rest = [] } = query(explained);
  const queryPlanner = plannerSection(context, collection, options);
  if (name === 'aggregate' && rest.length > 0) {
    return { explainVersion: '1', stages: [{ $cursor: { queryPlanner } }, ...rest], command: explained };
  }
  return { explainVersion: '1', queryPlanner, command: explained };
};

function plannerSection(context: CommandContext, name: string, options: QueryOptions): Document {
  const { plan, rejected, cached } = context.access.query(context.access.collection(name), options);
  return {
    namespace: `${context.dbName}.${name}`,
    parsedQuery: options.filter ?? {},
    winningPlan: describeStages(plan, options),
    rejectedPlans: rejected.map((other) => describeStages(other, options)),
    isCached: cached,
  };
}
