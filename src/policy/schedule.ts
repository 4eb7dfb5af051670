/** Time windows in a named time zone: wall-clock times, so daylight-saving changes just work. */

export interface Schedule {
  timezone: string;
  days?: string[] | undefined;
  from: string;
  to: string;
}

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(tz, f);
  }
  return f;
}

/** The weekday (0 = Sunday) and minute of the day at `at` in `tz`. */
export function wallClock(at: Date, tz: string): { day: number; minute: number } {
  let weekday = '';
  let hour = 0;
  let minute = 0;
  for (const p of formatter(tz).formatToParts(at)) {
    if (p.type === 'weekday') weekday = p.value.toLowerCase().slice(0, 3);
    else if (p.type === 'hour') hour = Number(p.value);
    else if (p.type === 'minute') minute = Number(p.value);
  }
  return { day: DAYS.indexOf(weekday), minute: hour * 60 + minute };
}

const minutes = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));

/**
 * Whether `at` falls in the window. A window whose end is before its start runs across
 * midnight and belongs to the day it starts on (fri 22:00–06:00 covers Saturday 03:00).
 */
export function inSchedule(s: Schedule, at: Date): boolean {
  const { day, minute } = wallClock(at, s.timezone);
  const from = minutes(s.from);
  const to = minutes(s.to);
  const dayOk = (d: number): boolean => !s.days || s.days.includes(DAYS[(d + 7) % 7]!);
  if (from === to) return dayOk(day);
  if (from < to) return dayOk(day) && minute >= from && minute < to;
  return (minute >= from && dayOk(day)) || (minute < to && dayOk(day - 1));
}
