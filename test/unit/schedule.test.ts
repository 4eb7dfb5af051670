import { describe, expect, it } from 'vitest';
import { inSchedule, wallClock, type Schedule } from '../../src/policy/schedule.js';

const at = (iso: string): Date => new Date(iso);

/** How many whole minutes in [startIso, endIso) fall in the window. */
function minutesIn(s: Schedule, startIso: string, endIso: string): number {
  let n = 0;
  for (let t = Date.parse(startIso); t < Date.parse(endIso); t += 60_000) if (inSchedule(s, new Date(t))) n++;
  return n;
}

describe('wallClock', () => {
  it('reads the weekday and minute in the zone, not in UTC', () => {
    // Sunday 2026-01-04 20:00 UTC is Monday 09:00 in Auckland (NZDT, UTC+13).
    expect(wallClock(at('2026-01-04T20:00:00Z'), 'Pacific/Auckland')).toEqual({ day: 1, minute: 9 * 60 });
    expect(wallClock(at('2026-01-04T20:00:00Z'), 'UTC')).toEqual({ day: 0, minute: 20 * 60 });
    // Saturday 2026-03-07 08:00 UTC is 03:00 in New York (EST, UTC-5).
    expect(wallClock(at('2026-03-07T08:00:00Z'), 'America/New_York')).toEqual({ day: 6, minute: 3 * 60 });
  });

  it('midnight is minute 0 of the new day, 23:59 is minute 1439', () => {
    expect(wallClock(at('2026-01-05T00:00:00Z'), 'UTC')).toEqual({ day: 1, minute: 0 });
    expect(wallClock(at('2026-01-04T23:59:59Z'), 'UTC')).toEqual({ day: 0, minute: 1439 });
  });

  it('follows daylight saving: the same UTC time is a different wall-clock hour in summer', () => {
    expect(wallClock(at('2026-01-05T08:00:00Z'), 'Europe/Berlin').minute).toBe(9 * 60);
    expect(wallClock(at('2026-07-06T08:00:00Z'), 'Europe/Berlin').minute).toBe(10 * 60);
  });
});

describe('inSchedule: a window within the day', () => {
  const office: Schedule = {
    timezone: 'Europe/Berlin',
    days: ['mon', 'tue', 'wed', 'thu', 'fri'],
    from: '09:00',
    to: '17:00',
  };

  it('includes its start and excludes its end (Monday 2026-01-05, CET = UTC+1)', () => {
    expect(inSchedule(office, at('2026-01-05T07:59:00Z'))).toBe(false); // 08:59
    expect(inSchedule(office, at('2026-01-05T08:00:00Z'))).toBe(true); // 09:00
    expect(inSchedule(office, at('2026-01-05T15:59:59Z'))).toBe(true); // 16:59:59
    expect(inSchedule(office, at('2026-01-05T16:00:00Z'))).toBe(false); // 17:00
  });

  it('only on the listed days (Saturday 2026-01-10 is out)', () => {
    expect(inSchedule(office, at('2026-01-09T10:00:00Z'))).toBe(true); // Friday 11:00
    expect(inSchedule(office, at('2026-01-10T10:00:00Z'))).toBe(false); // Saturday 11:00
  });

  it('without days, every day', () => {
    const daily: Schedule = { timezone: 'UTC', from: '09:00', to: '17:00' };
    for (const day of ['2026-01-04', '2026-01-05', '2026-01-10'])
      expect(inSchedule(daily, at(`${day}T12:00:00Z`))).toBe(true);
    expect(inSchedule(daily, at('2026-01-10T17:00:00Z'))).toBe(false);
  });

  it('the same office hours across the spring change: 09:00 local is 08:00 UTC before, 07:00 UTC after', () => {
    // Friday 2026-03-27 is still CET (UTC+1); Monday 2026-03-30 is CEST (UTC+2).
    expect(inSchedule(office, at('2026-03-27T07:30:00Z'))).toBe(false); // 08:30 CET
    expect(inSchedule(office, at('2026-03-27T08:30:00Z'))).toBe(true); // 09:30 CET
    expect(inSchedule(office, at('2026-03-30T07:30:00Z'))).toBe(true); // 09:30 CEST
    expect(inSchedule(office, at('2026-03-30T15:30:00Z'))).toBe(false); // 17:30 CEST
    expect(minutesIn(office, '2026-03-27T00:00:00Z', '2026-03-28T00:00:00Z')).toBe(8 * 60);
    expect(minutesIn(office, '2026-03-30T00:00:00Z', '2026-03-31T00:00:00Z')).toBe(8 * 60);
  });
});

describe('inSchedule: a window across midnight', () => {
  const nights: Schedule = { timezone: 'UTC', days: ['fri'], from: '22:00', to: '06:00' };

  it('belongs to the day it starts on: Friday 22:00 to Saturday 06:00', () => {
    expect(inSchedule(nights, at('2026-01-09T21:59:00Z'))).toBe(false); // Friday 21:59
    expect(inSchedule(nights, at('2026-01-09T22:00:00Z'))).toBe(true); // Friday 22:00
    expect(inSchedule(nights, at('2026-01-09T23:59:59Z'))).toBe(true);
    expect(inSchedule(nights, at('2026-01-10T00:00:00Z'))).toBe(true); // Saturday 00:00
    expect(inSchedule(nights, at('2026-01-10T03:00:00Z'))).toBe(true); // Saturday 03:00
    expect(inSchedule(nights, at('2026-01-10T05:59:59Z'))).toBe(true);
    expect(inSchedule(nights, at('2026-01-10T06:00:00Z'))).toBe(false); // Saturday 06:00
  });

  it('is not open on the morning of the listed day itself, nor the night of the next', () => {
    expect(inSchedule(nights, at('2026-01-09T03:00:00Z'))).toBe(false); // Friday 03:00: Thursday's night
    expect(inSchedule(nights, at('2026-01-10T22:30:00Z'))).toBe(false); // Saturday 22:30
  });

  it('wraps around the week: a Saturday night runs into Sunday', () => {
    const saturday: Schedule = { timezone: 'UTC', days: ['sat'], from: '22:00', to: '02:00' };
    expect(inSchedule(saturday, at('2026-01-11T01:00:00Z'))).toBe(true); // Sunday 01:00
    expect(inSchedule(saturday, at('2026-01-12T01:00:00Z'))).toBe(false); // Monday 01:00
    const sunday: Schedule = { timezone: 'UTC', days: ['sun'], from: '22:00', to: '02:00' };
    expect(inSchedule(sunday, at('2026-01-05T01:00:00Z'))).toBe(true); // Monday 01:00
    expect(inSchedule(sunday, at('2026-01-10T23:00:00Z'))).toBe(false); // Saturday 23:00
  });

  it('in a zone behind UTC, on local days (Friday night in New York is Saturday in UTC)', () => {
    const ny: Schedule = { timezone: 'America/New_York', days: ['fri'], from: '22:00', to: '06:00' };
    expect(inSchedule(ny, at('2026-01-10T03:30:00Z'))).toBe(true); // Friday 22:30 EST
    expect(inSchedule(ny, at('2026-01-10T02:30:00Z'))).toBe(false); // Friday 21:30 EST
    expect(inSchedule(ny, at('2026-01-10T10:59:00Z'))).toBe(true); // Saturday 05:59 EST
    expect(inSchedule(ny, at('2026-01-10T11:00:00Z'))).toBe(false); // Saturday 06:00 EST
  });

  it('a night with the spring change is an hour shorter, in wall-clock terms as written', () => {
    // New York moves from EST to EDT at 02:00 on Sunday 2026-03-08.
    const saturdayNights: Schedule = { timezone: 'America/New_York', days: ['sat'], from: '22:00', to: '06:00' };
    expect(minutesIn(saturdayNights, '2026-02-28T12:00:00Z', '2026-03-01T18:00:00Z')).toBe(8 * 60);
    expect(minutesIn(saturdayNights, '2026-03-07T12:00:00Z', '2026-03-08T18:00:00Z')).toBe(7 * 60);
    expect(inSchedule(saturdayNights, at('2026-03-08T09:59:00Z'))).toBe(true); // 05:59 EDT
    expect(inSchedule(saturdayNights, at('2026-03-08T10:00:00Z'))).toBe(false); // 06:00 EDT
  });
});

describe('inSchedule: the hour daylight saving skips or repeats (Europe/Berlin)', () => {
  const twoToThree: Schedule = { timezone: 'Europe/Berlin', from: '02:00', to: '03:00' };

  it('a window inside the skipped hour never opens on the spring change (2026-03-29)', () => {
    expect(minutesIn(twoToThree, '2026-03-28T22:00:00Z', '2026-03-29T22:00:00Z')).toBe(0);
    // The day before it is open its usual hour.
    expect(minutesIn(twoToThree, '2026-03-27T23:00:00Z', '2026-03-28T23:00:00Z')).toBe(60);
  });

  it('the same window is open twice on the autumn change (2026-10-25): 02:00-03:00 happens twice', () => {
    expect(inSchedule(twoToThree, at('2026-10-25T00:30:00Z'))).toBe(true); // 02:30 CEST
    expect(inSchedule(twoToThree, at('2026-10-25T01:30:00Z'))).toBe(true); // 02:30 CET
    expect(minutesIn(twoToThree, '2026-10-24T22:00:00Z', '2026-10-25T23:00:00Z')).toBe(120);
  });
});

describe('inSchedule: from equal to to', () => {
  it('is the whole of each listed day', () => {
    const sundays: Schedule = { timezone: 'UTC', days: ['sun'], from: '00:00', to: '00:00' };
    expect(inSchedule(sundays, at('2026-01-04T00:00:00Z'))).toBe(true);
    expect(inSchedule(sundays, at('2026-01-04T23:59:59Z'))).toBe(true);
    expect(inSchedule(sundays, at('2026-01-05T00:00:00Z'))).toBe(false);
    expect(minutesIn(sundays, '2026-01-03T00:00:00Z', '2026-01-06T00:00:00Z')).toBe(24 * 60);
  });
});
