// Pure logic of the business-hours editors (groups and inbox widgets):
// periods per weekday, the time zone or the older fixed UTC offset, a
// one-line summary and "open now". No I/O; unit-tested.

import type { Dict } from './strings'
import type { BusinessHours, OpeningPeriod } from './types'

/** Weekdays as the editor lists them: Monday first (0 = Sunday, as the API counts). */
export const WEEK: readonly number[] = [1, 2, 3, 4, 5, 6, 0]

/** Hours to start from: Monday to Friday, 09:00 to 18:00, in the workspace's time zone. */
export function defaultHours(): BusinessHours {
  return { periods: [1, 2, 3, 4, 5].map((day) => ({ day, open: '09:00', close: '18:00' })) }
}

/** The older form: a fixed UTC offset and no time zone. */
export function isLegacy(bh: BusinessHours | null | undefined): boolean {
  return !!bh && !bh.timezone && typeof bh.utc_offset_minutes === 'number'
}

/** `UTC+08:00`, `UTC-05:30`, `UTC`. */
export function formatOffset(minutes: number): string {
  if (!minutes) return 'UTC'
  const a = Math.abs(minutes)
  return `UTC${minutes < 0 ? '-' : '+'}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`
}

/** Whether the browser knows `tz` as an IANA time zone (the server checks it too). */
export function validTimezone(tz: string): boolean {
  if (!tz.trim()) return false
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz.trim() })
    return true
  } catch {
    return false
  }
}

/**
 * The hours with time zone `tz` (trimmed; empty: the workspace's). A time zone
 * replaces an older fixed offset; clearing it brings back `legacyOffset`, the
 * offset the hours had when the editor opened (if any).
 */
export function withTimezone(bh: BusinessHours, tz: string, legacyOffset?: number): BusinessHours {
  const { timezone: _tz, utc_offset_minutes: _off, ...rest } = bh
  const name = tz.trim()
  if (name) return { ...rest, timezone: name }
  return typeof legacyOffset === 'number' ? { ...rest, utc_offset_minutes: legacyOffset } : rest
}

/** `HH:MM` in minutes (00:00 to 24:00), as the server parses it; null when malformed. */
export function minutesOf(text: string): number | null {
  const m = /^(\d\d):(\d\d)$/.exec(text)
  if (!m) return null
  const t = Number(m[1]) * 60 + Number(m[2])
  return Number(m[2]) < 60 && t <= 24 * 60 ? t : null
}

/** Most periods a week the server takes. */
export const MAX_PERIODS = 28
/** Midnight at the end of a day: the only way a period can reach into the night. */
export const MIDNIGHT = '24:00'

/** `HH:MM` of minutes since midnight (0 to 1440). */
export function hhmm(t: number): string {
  return `${String(Math.floor(t / 60)).padStart(2, '0')}:${String(t % 60).padStart(2, '0')}`
}

/**
 * What is wrong with a period, as the server would see it: `time` an empty
 * or malformed time, `order` not opening before closing, `day` not a
 * weekday, `tooMany` beyond the first {@link MAX_PERIODS}.
 */
export type PeriodProblem = 'time' | 'order' | 'day' | 'tooMany'

/** The periods the server would refuse, by index, with what is wrong (the first problem of each). */
export function periodProblems(periods: readonly OpeningPeriod[]): Map<number, PeriodProblem> {
  const out = new Map<number, PeriodProblem>()
  periods.forEach((p, i) => {
    const o = minutesOf(p.open)
    const c = minutesOf(p.close)
    if (o === null || c === null) out.set(i, 'time')
    else if (o >= c) out.set(i, 'order')
    else if (!Number.isInteger(p.day) || p.day < 0 || p.day > 6) out.set(i, 'day')
    else if (i >= MAX_PERIODS) out.set(i, 'tooMany')
  })
  return out
}

/** Indexes of the periods the server would refuse (see {@link periodProblems}). */
export function badPeriods(periods: readonly OpeningPeriod[]): Set<number> {
  return new Set(periodProblems(periods).keys())
}

/** The distinct problems of `periods`, in a fixed order (one message each). */
export function hoursProblems(periods: readonly OpeningPeriod[]): PeriodProblem[] {
  const found = new Set(periodProblems(periods).values())
  if (periods.length > MAX_PERIODS) found.add('tooMany')
  return (['time', 'order', 'day', 'tooMany'] as const).filter((p) => found.has(p))
}

/** What to tell the admin about `problem`, in the language of `t`. */
export function problemText(problem: PeriodProblem, t: Dict): string {
  return { time: t.enterTime, order: t.badPeriod, day: t.badDay, tooMany: t.tooManyPeriods }[problem]
}

/** The periods of one weekday with their index in `bh.periods`, earliest first. */
export function periodsOfDay(bh: BusinessHours, day: number): { period: OpeningPeriod; index: number }[] {
  return bh.periods
    .map((period, index) => ({ period, index }))
    .filter((x) => x.period.day === day)
    .sort((a, b) => (a.period.open < b.period.open ? -1 : a.period.open > b.period.open ? 1 : a.index - b.index))
}

/**
 * The period `addPeriod` would add to `day`, or null when there is none to
 * add: 09:00–18:00 on a closed day, else the hour after the day's latest
 * close (up to midnight); none when the day already runs to midnight or the
 * week has {@link MAX_PERIODS} periods.
 */
export function nextPeriod(bh: BusinessHours, day: number): OpeningPeriod | null {
  if (bh.periods.length >= MAX_PERIODS) return null
  const closes = periodsOfDay(bh, day)
    .map((x) => minutesOf(x.period.close))
    .filter((c): c is number => c !== null)
  if (!closes.length) return { day, open: '09:00', close: '18:00' }
  const from = Math.max(...closes)
  if (from >= 24 * 60) return null
  return { day, open: hhmm(from), close: hhmm(Math.min(from + 60, 24 * 60)) }
}

/** Adds {@link nextPeriod} to `day` (the same hours when there is none). */
export function addPeriod(bh: BusinessHours, day: number): BusinessHours {
  const p = nextPeriod(bh, day)
  return p ? { ...bh, periods: [...bh.periods, p] } : bh
}

/**
 * Makes period `index` run until midnight (`on`), or (off) close an hour
 * after it opens, at the latest 23:59: a time the agent then adjusts.
 */
export function untilMidnight(bh: BusinessHours, index: number, on: boolean): BusinessHours {
  return {
    ...bh,
    periods: bh.periods.map((p, i) => {
      if (i !== index) return p
      if (on) return { ...p, close: MIDNIGHT }
      const o = minutesOf(p.open)
      return { ...p, close: hhmm(o === null ? 18 * 60 : Math.min(o + 60, 24 * 60 - 1)) }
    }),
  }
}

export function removePeriod(bh: BusinessHours, index: number): BusinessHours {
  return { ...bh, periods: bh.periods.filter((_, i) => i !== index) }
}

/**
 * Gives every other weekday (Monday to Friday) the periods of `day`; the
 * same hours when that would make more than {@link MAX_PERIODS} periods.
 */
export function copyToWeekdays(bh: BusinessHours, day: number): BusinessHours {
  const src = periodsOfDay(bh, day).map((x) => x.period)
  const weekdays = [1, 2, 3, 4, 5].filter((d) => d !== day)
  const kept = bh.periods.filter((p) => !weekdays.includes(p.day))
  const periods = [...kept, ...weekdays.flatMap((d) => src.map((p) => ({ day: d, open: p.open, close: p.close })))]
  return periods.length > MAX_PERIODS ? bh : { ...bh, periods }
}

/** Whether {@link copyToWeekdays} would fit within {@link MAX_PERIODS}. */
export function canCopyToWeekdays(bh: BusinessHours, day: number): boolean {
  return copyToWeekdays(bh, day) !== bh
}

/** What to send: periods in weekday order, no empty time zone. */
export function normalizeHours(bh: BusinessHours | null): BusinessHours | null {
  if (!bh) return null
  const out: BusinessHours = { periods: WEEK.flatMap((d) => periodsOfDay(bh, d).map((x) => ({ ...x.period }))) }
  if (bh.timezone?.trim()) out.timezone = bh.timezone.trim()
  else if (typeof bh.utc_offset_minutes === 'number') out.utc_offset_minutes = bh.utc_offset_minutes
  return out
}

/**
 * One line for a table: "Mon–Fri 09:00–18:00; Sat 10:00–14:00" (consecutive
 * days with the same periods run together); `closed` when there is no period.
 * `days` are the weekday names, Sunday first.
 */
export function summarizeHours(bh: BusinessHours, days: readonly string[], closed: string): string {
  const spans = (d: number) =>
    periodsOfDay(bh, d)
      .map((x) => `${x.period.open}–${x.period.close}`)
      .join(', ')
  const parts: string[] = []
  let i = 0
  while (i < WEEK.length) {
    const s = spans(WEEK[i])
    let j = i
    while (j + 1 < WEEK.length && spans(WEEK[j + 1]) === s) j++
    if (s) parts.push(`${days[WEEK[i]]}${j > i ? '–' + days[WEEK[j]] : ''} ${s}`)
    i = j + 1
  }
  return parts.length ? parts.join('; ') : closed
}

/** Weekday (0 = Sunday), minutes since midnight and the date (YYYY-MM-DD) at `ms` in `tz`. */
export function localTime(ms: number, tz: string): { day: number; minutes: number; date: string } {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: tz,
    hourCycle: 'h23',
    weekday: 'short',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
  }).formatToParts(new Date(ms))
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? ''
  const day = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(get('weekday'))
  return { day, minutes: (Number(get('hour')) % 24) * 60 + Number(get('minute')), date: `${get('year')}-${get('month')}-${get('day')}` }
}

/**
 * Whether the hours are open at `ms`: in their time zone (`workspaceTz` when
 * they name none; the fixed offset for the older form), closed on the
 * workspace's `holidays` (not for the older form, as on the server).
 */
export function isOpenAt(bh: BusinessHours, workspaceTz: string, ms: number, holidays: readonly string[] = []): boolean {
  let at: { day: number; minutes: number; date: string }
  if (isLegacy(bh)) {
    const local = Math.floor(ms / 60_000) + (bh.utc_offset_minutes ?? 0)
    const dayIndex = Math.floor(local / 1440)
    // 1970-01-01 was a Thursday.
    at = { day: (((dayIndex + 4) % 7) + 7) % 7, minutes: ((local % 1440) + 1440) % 1440, date: '' }
  } else {
    try {
      at = localTime(ms, bh.timezone || workspaceTz)
    } catch {
      return false
    }
    if (holidays.includes(at.date)) return false
  }
  return bh.periods.some((p) => {
    const o = minutesOf(p.open)
    const c = minutesOf(p.close)
    return p.day === at.day && o !== null && c !== null && o <= at.minutes && at.minutes < c
  })
}
