/**
 * A FHIR date, dateTime or instant search value as the range of time it covers at its precision
 * (search.html#date): `2020` is the whole year, `2020-03-01T10:00Z` the whole minute.
 */

/** Inclusive start and end (the last millisecond) of the interval. */
export interface DateRange {
  readonly start: Date;
  readonly end: Date;
}

/** The earliest and latest instants JavaScript (and BSON) dates hold: open ends of periods. */
export const MIN_DATE = new Date(-8.64e15);
export const MAX_DATE = new Date(8.64e15);

const DATE_PATTERN =
  /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/** Parses a search date value; undefined when it is not a valid FHIR date/dateTime/instant. */
export function parseDateRange(value: string): DateRange | undefined {
  const match = DATE_PATTERN.exec(value);
  if (!match) return undefined;
  const [, y, mo, d, h, mi, s, frac, zone] = match;
  const year = Number(y);
  const month = mo === undefined ? undefined : Number(mo);
  const day = d === undefined ? undefined : Number(d);
  if (month !== undefined && (month < 1 || month > 12)) return undefined;
  if (day !== undefined && (day < 1 || day > daysIn(year, month ?? 1))) return undefined;
  if (h !== undefined && (Number(h) > 23 || Number(mi) > 59 || (s !== undefined && Number(s) > 59))) return undefined;
  // A time without a zone is read as UTC; the server stores instants in UTC.
  const offsetMs = zone && zone !== 'Z' ? (zone.startsWith('-') ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6))) * 60_000 : 0;
  const start = Date.UTC(year, (month ?? 1) - 1, day ?? 1, Number(h ?? 0), Number(mi ?? 0), Number(s ?? 0), Number((frac ?? '0').padEnd(3, '0').slice(0, 3))) - offsetMs;
  let end: number;
  if (month === undefined) end = Date.UTC(year + 1, 0, 1) - offsetMs;
  else if (day === undefined) end = Date.UTC(year, month, 1) - offsetMs;
  else if (h === undefined) end = Date.UTC(year, month - 1, day + 1) - offsetMs;
  else if (s === undefined) end = start + 60_000;
  else if (frac === undefined) end = start + 1000;
  else end = start + 1;
  return { start: new Date(start), end: new Date(end - 1) };
}

function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}
