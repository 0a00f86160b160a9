/**
 * Date search parameters (https://hl7.org/fhir/R4/search.html#date) with the prefixes of search.html#prefix. Both the
 * search value and the value in the resource are ranges: "the date 2015-08-12 has an implicit range of all the time
 * during that day"; a Period is "Explicit, though the upper or lower bound might not actually be specified" and
 * "Implicitly, a missing lower boundary is "less than" any actual date. A missing upper boundary is "greater than"
 * any actual date"; an instant is "an interval with an effective width of 0"; for Timing "only the outer limits
 * matter". The prefixes, in their range interpretation (search.html#prefix):
 *   eq  the range of the search value fully contains the range of the target value
 *   ne  the range of the search value does not fully contain the range of the target value
 *   gt  the range above the search value intersects (i.e. overlaps) with the range of the target value
 *   lt  the range below the search value intersects (i.e. overlaps) with the range of the target value
 *   ge  gt, or the range of the search value fully contains the range of the target value
 *   le  lt, or the range of the search value fully contains the range of the target value
 *   sa  the range of the search value does not overlap with the range of the target value, and the range above the
 *       search value contains the range of the target value
 *   eb  the same below
 *   ap  the range of the search value overlaps with the range of the target value ("for a date, 10% of the gap
 *       between now and the date")
 * The expected matches below are worked out from these definitions; each row is one case.
 */
import type { Bundle, Encounter, Observation, Patient, Period, ServiceRequest } from '@medplum/fhirtypes';
import { startFhirServer, type FhirTestServer } from '../../support/fhir-server';
import { expectInvalidParameter, matches, searchClient, type SearchClient } from './search-client';

let server: FhirTestServer;
let api: SearchClient;

/** Fixtures by name, so that the tables below read as (stored value, search, match). */
const stored = new Map<string, { id: string }>();

async function matchesQuery(fixture: string, query: string): Promise<boolean> {
  const target = stored.get(fixture);
  if (!target) throw new Error(`no fixture ${fixture}`);
  const ids = await api.ids(`${query}&_count=100`);
  return ids.includes(target.id);
}

const birthDates: Record<string, string> = { 'birthDate 1974': '1974', 'birthDate 1974-12': '1974-12', 'birthDate 1974-12-25': '1974-12-25' };

const effectiveTimes: Record<string, string> = {
  'effective 2013-01-14': '2013-01-14',
  'effective 2013-01-14T00:00:00Z': '2013-01-14T00:00:00Z',
  'effective 2013-01-14T10:00:00Z': '2013-01-14T10:00:00Z',
  'effective 2013-01-15T00:00:00Z': '2013-01-15T00:00:00Z',
  'effective 2020-06-15T23:30:00-05:00': '2020-06-15T23:30:00-05:00',
  'effective 2020-06': '2020-06',
};

const periods: Record<string, Period> = {
  'period 2020-06-01..2020-06-30': { start: '2020-06-01', end: '2020-06-30' },
  'period from 21-Jan 2013 onwards': { start: '2013-01-21' },
  'period from 15-Mar 2013 onwards': { start: '2013-03-15' },
  'period before and including 21-Jan 2013': { end: '2013-01-21' },
};

beforeAll(async () => {
  server = await startFhirServer();
  api = searchClient(server);
  for (const [name, birthDate] of Object.entries(birthDates)) {
    stored.set(name, await api.create<Patient>({ resourceType: 'Patient', birthDate }));
  }
  const code = { coding: [{ system: 'http://loinc.org', code: '8867-4' }] };
  for (const [name, effectiveDateTime] of Object.entries(effectiveTimes)) {
    stored.set(name, await api.create<Observation>({ resourceType: 'Observation', status: 'final', code, effectiveDateTime }));
  }
  const actCode = 'http://terminology.hl7.org/CodeSystem/v3-ActCode';
  for (const [name, period] of Object.entries(periods)) {
    stored.set(name, await api.create<Encounter>({ resourceType: 'Encounter', status: 'finished', class: { system: actCode, code: 'AMB' }, period }));
  }
  const subject = { reference: `Patient/${stored.get('birthDate 1974')?.id}` };
  // search.html#date: "a schedule that specifies every second day between 31-Jan 2013 and 24-Mar 2013 includes 1-Feb
  // 2013, even though that is on an odd day that is not specified by the period".
  stored.set(
    'timing every second day 2013-01-31..2013-03-24',
    await api.create<ServiceRequest>({
      resourceType: 'ServiceRequest',
      status: 'active',
      intent: 'order',
      subject,
      occurrenceTiming: { repeat: { boundsPeriod: { start: '2013-01-31', end: '2013-03-24' }, frequency: 1, period: 2, periodUnit: 'd' } },
    }),
  );
  stored.set(
    'timing events 2013-02-01 and 2013-03-01',
    await api.create<ServiceRequest>({ resourceType: 'ServiceRequest', status: 'active', intent: 'order', subject, occurrenceTiming: { event: ['2013-02-01', '2013-03-01'] } }),
  );
});

afterAll(async () => {
  await server.stop();
});

type Row = [fixture: string, search: string, expected: boolean];

/** Rows as test cases named "<stored value>: <param>=<search value> matches | does not match". */
const cases = (rows: Row[]) => rows.map(([fixture, search, expected]) => [fixture, search, expected ? 'matches' : 'does not match', expected] as const);

describe('date: the search value and the birthDate are both ranges at their precision (search.html#date, #prefix)', () => {
  const rows: Row[] = [
    // eq: the search range fully contains the stored range
    ['birthDate 1974', 'eq1974', true],
    ['birthDate 1974-12', 'eq1974', true],
    ['birthDate 1974-12-25', 'eq1974', true],
    ['birthDate 1974', 'eq1974-12', false],
    ['birthDate 1974-12', 'eq1974-12', true],
    ['birthDate 1974-12-25', 'eq1974-12', true],
    ['birthDate 1974', 'eq1974-12-25', false],
    ['birthDate 1974-12', 'eq1974-12-25', false],
    ['birthDate 1974-12-25', 'eq1974-12-25', true],
    ['birthDate 1974-12-25', '1974-12-25', true],
    ['birthDate 1974-12-25', 'eq1974-12-24', false],
    // ne: not fully contained
    ['birthDate 1974', 'ne1974-12', true],
    ['birthDate 1974-12', 'ne1974-12', false],
    ['birthDate 1974-12-25', 'ne1974-12', false],
    ['birthDate 1974-12-25', 'ne1975', true],
    // gt: the range after the search value overlaps the stored range
    ['birthDate 1974', 'gt1974-06', true],
    ['birthDate 1974-12', 'gt1974-06', true],
    ['birthDate 1974', 'gt1974-12', false],
    ['birthDate 1974', 'gt1974-12-25', true],
    ['birthDate 1974-12', 'gt1974-12-25', true],
    ['birthDate 1974-12-25', 'gt1974-12-25', false],
    ['birthDate 1974-12-25', 'gt1974', false],
    // lt: the range before the search value overlaps the stored range
    ['birthDate 1974', 'lt1974-12', true],
    ['birthDate 1974-12', 'lt1974-12', false],
    ['birthDate 1974-12-25', 'lt1974-12', false],
    ['birthDate 1974-12', 'lt1974-12-25', true],
    ['birthDate 1974-12-25', 'lt1974-12-25', false],
    ['birthDate 1974-12-25', 'lt1975', true],
    // ge: gt, or contained
    ['birthDate 1974', 'ge1974-12', false],
    ['birthDate 1974-12', 'ge1974-12', true],
    ['birthDate 1974-12-25', 'ge1974-12', true],
    ['birthDate 1974', 'ge1974-12-25', true],
    ['birthDate 1974-12-25', 'ge1974-12-25', true],
    ['birthDate 1974-12-25', 'ge1974-12-26', false],
    // le: lt, or contained
    ['birthDate 1974', 'le1974-12', true],
    ['birthDate 1974-12', 'le1974-12', true],
    ['birthDate 1974-12-25', 'le1974-12-25', true],
    ['birthDate 1974-12-25', 'le1974-12-24', false],
    ['birthDate 1974-12', 'le1974-11', false],
    // sa: starts after the search range
    ['birthDate 1974', 'sa1973', true],
    ['birthDate 1974', 'sa1974-11', false],
    ['birthDate 1974-12', 'sa1974-11', true],
    ['birthDate 1974-12-25', 'sa1974-12-24', true],
    ['birthDate 1974-12-25', 'sa1974-12', false],
    // eb: ends before the search range
    ['birthDate 1974', 'eb1975', true],
    ['birthDate 1974', 'eb1974-12-26', false],
    ['birthDate 1974-12-25', 'eb1974-12-26', true],
    ['birthDate 1974-12-25', 'eb1974-12-25', false],
    ['birthDate 1974-12', 'eb1975-01', true],
  ];
  it.each(cases(rows))('%s: birthdate=%s %s', async (fixture, search, _label, expected) => {
    expect(await matchesQuery(fixture, `Patient?birthdate=${search}`)).toBe(expected);
  });
});

describe('dateTime: the examples of search.html#date on Observation.effective', () => {
  const rows: Row[] = [
    // "[parameter]=eq2013-01-14: 2013-01-14T00:00 matches (obviously); 2013-01-14T10:00 matches; 2013-01-15T00:00 does
    // not match - it's not in the range"
    ['effective 2013-01-14T00:00:00Z', 'eq2013-01-14', true],
    ['effective 2013-01-14T10:00:00Z', 'eq2013-01-14', true],
    ['effective 2013-01-15T00:00:00Z', 'eq2013-01-14', false],
    // "[parameter]=ne2013-01-14: 2013-01-15T00:00 matches - it's not in the range; 2013-01-14T00:00 does not match;
    // 2013-01-14T10:00 does not match"
    ['effective 2013-01-15T00:00:00Z', 'ne2013-01-14', true],
    ['effective 2013-01-14T00:00:00Z', 'ne2013-01-14', false],
    ['effective 2013-01-14T10:00:00Z', 'ne2013-01-14', false],
    // "[parameter]=lt2013-01-14T10:00: 2013-01-14 matches, because it includes the part of 14-Jan 2013 before 10am"
    ['effective 2013-01-14', 'lt2013-01-14T10:00', true],
    // "[parameter]=gt2013-01-14T10:00: 2013-01-14 matches, because it includes the part of 14-Jan 2013 after 10am"
    ['effective 2013-01-14', 'gt2013-01-14T10:00', true],
    // the day 2013-01-14 is not inside one minute of it
    ['effective 2013-01-14', 'eq2013-01-14T10:00', false],
    // a month stored: search eq2020 (the year contains the month)
    ['effective 2020-06', 'eq2020', true],
    ['effective 2020-06', 'eq2020-06-15', false],
    ['effective 2020-06', 'ge2020-06-15', true],
    ['effective 2020-06', 'le2020-06-15', true],
  ];
  it.each(cases(rows))('%s: date=%s %s', async (fixture, search, _label, expected) => {
    expect(await matchesQuery(fixture, `Observation?date=${search}`)).toBe(expected);
  });
});

describe('dateTime with time zones: compared as instants ("the system should correct for time zones", search.html#date)', () => {
  // stored 2020-06-15T23:30:00-05:00 is 2020-06-16T04:30:00Z; the `+` of an offset is percent-encoded by the client.
  const rows: Row[] = [
    ['effective 2020-06-15T23:30:00-05:00', 'eq2020-06-15T23:30-05:00', true],
    ['effective 2020-06-15T23:30:00-05:00', 'eq2020-06-16T04:30Z', true],
    ['effective 2020-06-15T23:30:00-05:00', 'eq2020-06-16T06:30+02:00', true],
    ['effective 2020-06-15T23:30:00-05:00', 'eq2020-06-16T04:30:00Z', true],
    ['effective 2020-06-15T23:30:00-05:00', 'eq2020-06-15T23:30Z', false],
    ['effective 2020-06-15T23:30:00-05:00', 'gt2020-06-16T04:29Z', true],
    ['effective 2020-06-15T23:30:00-05:00', 'lt2020-06-16T04:29Z', false],
    ['effective 2020-06-15T23:30:00-05:00', 'lt2020-06-16T04:31Z', true],
    ['effective 2020-06-15T23:30:00-05:00', 'sa2020-06-16T05:29+01:00', true],
    ['effective 2020-06-15T23:30:00-05:00', 'eb2020-06-15T23:31-05:00', true],
    ['effective 2020-06-15T23:30:00-05:00', 'eb2020-06-15T23:30-05:00', false],
  ];
  it.each(cases(rows))('%s: date=%s %s', async (fixture, search, _label, expected) => {
    expect(await matchesQuery(fixture, `Observation?date=${search}`)).toBe(expected);
  });

  // search.html#date: "Some user agents may escape the : characters in the URL, and servers SHALL handle this correctly."
  it('reads percent-escaped colons: date=eq2020-06-16T04%3A30Z', async () => {
    const response = await server.fetch(`${server.baseUrl}/Observation?date=eq2020-06-16T04%3A30Z`);
    expect(response.status).toBe(200);
    const bundle = (await response.json()) as Bundle;
    expect(matches(bundle).map((entry) => entry.resource?.id)).toEqual([stored.get('effective 2020-06-15T23:30:00-05:00')?.id]);
  });
});

describe('Period: explicit ranges, open ends beyond any date (search.html#date, Encounter.period via date)', () => {
  const rows: Row[] = [
    // The examples of search.html#date, verbatim:
    // "ge2013-03-14: "from 21-Jan 2013 onwards" is included because that period may include times after 14-Mar 2013"
    ['period from 21-Jan 2013 onwards', 'ge2013-03-14', true],
    // "le2013-03-14: "from 21-Jan 2013 onwards" is included because that period may include times before 14-Mar 2013"
    ['period from 21-Jan 2013 onwards', 'le2013-03-14', true],
    // "sa2013-03-14: "from 15-Mar 2013 onwards" is included ...; "from 21-Jan 2013 onwards" is not included ...;
    // "before and including 21-Jan 2013" is not included"
    ['period from 15-Mar 2013 onwards', 'sa2013-03-14', true],
    ['period from 21-Jan 2013 onwards', 'sa2013-03-14', false],
    ['period before and including 21-Jan 2013', 'sa2013-03-14', false],
    // "eb2013-03-14: "from 15-Mar 2013 onwards" is not included ...; "from 21-Jan 2013 onwards" is not included ...;
    // "before and including 21-Jan 2013" is included because that period ends before 14-Mar 2013"
    ['period from 15-Mar 2013 onwards', 'eb2013-03-14', false],
    ['period from 21-Jan 2013 onwards', 'eb2013-03-14', false],
    ['period before and including 21-Jan 2013', 'eb2013-03-14', true],
    // open end: greater than any actual date
    ['period from 21-Jan 2013 onwards', 'gt2999', true],
    ['period from 21-Jan 2013 onwards', 'eq2013', false],
    ['period from 21-Jan 2013 onwards', 'ne2013', true],
    ['period from 21-Jan 2013 onwards', 'lt2013-01-21', false],
    ['period from 21-Jan 2013 onwards', 'eb2999', false],
    // open start: less than any actual date
    ['period before and including 21-Jan 2013', 'lt1900', true],
    ['period before and including 21-Jan 2013', 'eq2013-01', false],
    ['period before and including 21-Jan 2013', 'gt2013-01-21', false],
    // ge: nothing of it lies after 21-Jan 2013 and that day does not contain it (it has no start)
    ['period before and including 21-Jan 2013', 'ge2013-01-21', false],
    ['period before and including 21-Jan 2013', 'le2013-01-21', true],
    ['period before and including 21-Jan 2013', 'sa1900', false],
    // a closed Period 2020-06-01..2020-06-30 against day, month and year values
    ['period 2020-06-01..2020-06-30', 'eq2020', true],
    ['period 2020-06-01..2020-06-30', 'eq2020-06', true],
    ['period 2020-06-01..2020-06-30', 'eq2020-06-15', false],
    ['period 2020-06-01..2020-06-30', 'ne2020-06', false],
    ['period 2020-06-01..2020-06-30', 'ne2020-06-15', true],
    ['period 2020-06-01..2020-06-30', 'ge2020-06-15', true],
    ['period 2020-06-01..2020-06-30', 'le2020-06-15', true],
    ['period 2020-06-01..2020-06-30', 'gt2020-06-30', false],
    ['period 2020-06-01..2020-06-30', 'gt2020-06-29', true],
    ['period 2020-06-01..2020-06-30', 'lt2020-06-01', false],
    ['period 2020-06-01..2020-06-30', 'lt2020-06-02', true],
    ['period 2020-06-01..2020-06-30', 'ge2020-07', false],
    ['period 2020-06-01..2020-06-30', 'sa2020-05', true],
    ['period 2020-06-01..2020-06-30', 'sa2020-06-01', false],
    ['period 2020-06-01..2020-06-30', 'eb2020-07', true],
    ['period 2020-06-01..2020-06-30', 'eb2020-06-30', false],
  ];
  it.each(cases(rows))('%s: date=%s %s', async (fixture, search, _label, expected) => {
    expect(await matchesQuery(fixture, `Encounter?date=${search}`)).toBe(expected);
  });
});

describe('ap: approximately (search.html#prefix, examples in search.html#date)', () => {
  // "ap2013-03-14: 14-Mar 2013 is included - as it exactly matches; ... 15-Jun 2015 is not included - as it is not
  // near 14-Mar 2013". 10% of the gap between now and 2013 is about a year; 15-Jun 2015 is more than two years away.
  it('a Period containing 14-Mar 2013 matches ap2013-03-14', async () => {
    expect(await matchesQuery('timing every second day 2013-01-31..2013-03-24', 'ServiceRequest?occurrence=ap2013-03-14')).toBe(true);
  });

  it('a date far from the search value (15-Jun 2015) does not match ap2013-03-14', async () => {
    const far = await api.create<Patient>({ resourceType: 'Patient', birthDate: '2015-06-15' });
    expect(await api.ids('Patient?birthdate=ap2013-03-14')).not.toContain(far.id);
  });

  it('the recorded day itself matches ap of that day', async () => {
    expect(await matchesQuery('birthDate 1974-12-25', 'Patient?birthdate=ap1974-12-25')).toBe(true);
  });
});

describe('Timing: "only the outer limits matter" (search.html#date; ServiceRequest.occurrence[x] via occurrence)', () => {
  const rows: Row[] = [
    // "every second day between 31-Jan 2013 and 24-Mar 2013 includes 1-Feb 2013"
    ['timing every second day 2013-01-31..2013-03-24', 'ap2013-02-01', true],
    ['timing every second day 2013-01-31..2013-03-24', 'le2013-02-01', true],
    ['timing every second day 2013-01-31..2013-03-24', 'ge2013-02-01', true],
    ['timing every second day 2013-01-31..2013-03-24', 'eq2013-02-01', false],
    ['timing every second day 2013-01-31..2013-03-24', 'eq2013', true],
    ['timing every second day 2013-01-31..2013-03-24', 'sa2013-01-30', true],
    ['timing every second day 2013-01-31..2013-03-24', 'sa2013-01-31', false],
    ['timing every second day 2013-01-31..2013-03-24', 'eb2013-03-25', true],
    ['timing every second day 2013-01-31..2013-03-24', 'eb2013-03-24', false],
    // events 1-Feb and 1-Mar 2013: the outer limits are 1-Feb..1-Mar 2013, which February does not contain, which does
    // not start after 15-Feb and does not end before it
    ['timing events 2013-02-01 and 2013-03-01', 'eq2013', true],
    ['timing events 2013-02-01 and 2013-03-01', 'ge2013-02-15', true],
    ['timing events 2013-02-01 and 2013-03-01', 'ne2013-02', true],
    ['timing events 2013-02-01 and 2013-03-01', 'eq2013-02', false],
    ['timing events 2013-02-01 and 2013-03-01', 'sa2013-02-15', false],
    ['timing events 2013-02-01 and 2013-03-01', 'eb2013-02-15', false],
  ];
  it.each(cases(rows))('%s: occurrence=%s %s', async (fixture, search, _label, expected) => {
    expect(await matchesQuery(fixture, `ServiceRequest?occurrence=${search}`)).toBe(expected);
  });
});

describe('instant: _lastUpdated is "a fixed point in time" (search.html#date)', () => {
  let created: Patient & { id: string };
  let instant: Date;

  beforeAll(async () => {
    created = await api.create<Patient>({ resourceType: 'Patient' });
    instant = new Date(created.meta?.lastUpdated as string);
  });

  it('matches eq at its own millisecond', async () => {
    expect(await api.ids(`Patient?_lastUpdated=eq${instant.toISOString()}&_id=${created.id}`)).toEqual([created.id]);
  });

  it('matches eq on the day that contains it', async () => {
    expect(await api.ids(`Patient?_lastUpdated=eq${instant.toISOString().slice(0, 10)}&_id=${created.id}`)).toEqual([created.id]);
  });

  it('does not match eq on the next millisecond', async () => {
    expect(await api.ids(`Patient?_lastUpdated=eq${new Date(instant.getTime() + 1).toISOString()}&_id=${created.id}`)).toEqual([]);
  });

  it('does not match eq on a later year (eq2099)', async () => {
    expect(await api.ids(`Patient?_lastUpdated=eq2099&_id=${created.id}`)).toEqual([]);
  });
});

describe('invalid date values are 400 naming the parameter (search.html#errors: "A data time parameter may have incorrect format")', () => {
  it.each([
    ['birthdate', '2020-13', 'a month 13'],
    ['birthdate', '2020-02-30', 'a day 30 of February'],
    ['birthdate', 'xx', 'no date at all'],
    ['birthdate', 'zz2020', 'an unknown prefix'],
    ['birthdate', '23 May 2009', 'a date not in the XML format'],
    ['date', '2020-06-15T25:00Z', 'an hour 25'],
    ['_lastUpdated', 'yesterday', 'a word on _lastUpdated'],
  ])('%s=%s (%s) is rejected with 400', async (parameter, value) => {
    const type = parameter === 'date' ? 'Observation' : 'Patient';
    const outcome = await api.fails(`${type}?${parameter}=${value}`);
    expectInvalidParameter(outcome, parameter, `'${value}'`);
  });
});
