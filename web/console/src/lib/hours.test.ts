import { describe, expect, it } from 'vitest'
import {
  MAX_PERIODS,
  addPeriod,
  badPeriods,
  canCopyToWeekdays,
  copyToWeekdays,
  defaultHours,
  formatOffset,
  isLegacy,
  isOpenAt,
  localTime,
  hoursProblems,
  nextPeriod,
  normalizeHours,
  periodProblems,
  periodsOfDay,
  problemText,
  removePeriod,
  summarizeHours,
  untilMidnight,
  validTimezone,
  withTimezone,
} from './hours'
import { en, zh } from './strings'

// 2026-11-23 is a Monday; 01:00 UTC is 09:00 in Shanghai.
const MONDAY_0100_UTC = Date.UTC(2026, 10, 23, 1, 0)

describe('business hours', () => {
  it('starts Monday to Friday, 09:00 to 18:00, in the workspace time zone', () => {
    const bh = defaultHours()
    expect(bh.timezone).toBeUndefined()
    expect(bh.periods.map((p) => p.day)).toEqual([1, 2, 3, 4, 5])
    expect(summarizeHours(bh, en.days, en.closedDay)).toBe('Mon–Fri 09:00–18:00')
    expect(summarizeHours(bh, zh.days, zh.closedDay)).toBe('周一–周五 09:00–18:00')
    expect(summarizeHours({ periods: [] }, en.days, en.closedDay)).toBe('Closed')
  })
  it('adds, removes and copies periods per day', () => {
    let bh = addPeriod({ periods: [] }, 6)
    expect(bh.periods).toEqual([{ day: 6, open: '09:00', close: '18:00' }])
    bh = addPeriod({ periods: [{ day: 1, open: '09:00', close: '12:00' }] }, 1)
    expect(periodsOfDay(bh, 1).map((x) => `${x.period.open}-${x.period.close}`)).toEqual(['09:00-12:00', '12:00-13:00'])
    expect(removePeriod(bh, 0).periods).toEqual([{ day: 1, open: '12:00', close: '13:00' }])
    const week = copyToWeekdays({ periods: [{ day: 1, open: '08:00', close: '12:00' }, { day: 3, open: '10:00', close: '11:00' }, { day: 6, open: '10:00', close: '14:00' }] }, 1)
    expect(summarizeHours(week, en.days, en.closedDay)).toBe('Mon–Fri 08:00–12:00; Sat 10:00–14:00')
  })
  it('adds the next period after the latest close, up to midnight, and none past it', () => {
    const at = (periods: { day: number; open: string; close: string }[]) => nextPeriod({ periods }, 1)
    expect(at([{ day: 1, open: '09:00', close: '12:00' }])).toEqual({ day: 1, open: '12:00', close: '13:00' })
    // The latest close, not the last opening: no overlap.
    expect(at([{ day: 1, open: '09:00', close: '22:00' }, { day: 1, open: '10:00', close: '11:00' }])).toEqual({ day: 1, open: '22:00', close: '23:00' })
    // No one-minute gap before midnight, and no overlap with a period ending at 23:30.
    expect(at([{ day: 1, open: '20:00', close: '23:30' }])).toEqual({ day: 1, open: '23:30', close: '24:00' })
    expect(at([{ day: 1, open: '20:00', close: '23:00' }])).toEqual({ day: 1, open: '23:00', close: '24:00' })
    // A day open until midnight has no room left: nothing is added.
    const full = { periods: [{ day: 0, open: '20:00', close: '24:00' }] }
    expect(nextPeriod(full, 0)).toBeNull()
    expect(addPeriod(full, 0)).toBe(full)
    // Other days are not affected by it.
    expect(nextPeriod(full, 1)).toEqual({ day: 1, open: '09:00', close: '18:00' })
    // A cleared time does not count as the day's latest close.
    expect(at([{ day: 1, open: '09:00', close: '12:00' }, { day: 1, open: '13:00', close: '' }])).toEqual({ day: 1, open: '12:00', close: '13:00' })
  })
  it('never adds or copies past the 28 periods the server takes', () => {
    const week = { periods: Array.from({ length: MAX_PERIODS }, (_, i) => ({ day: i % 7, open: `${String(i % 4 * 5).padStart(2, '0')}:00`, close: `${String(i % 4 * 5 + 1).padStart(2, '0')}:00` })) }
    expect(nextPeriod(week, 3)).toBeNull()
    expect(addPeriod(week, 3)).toBe(week)
    // Monday's 2 periods on Tuesday to Friday as well: 2 × 5 + Sat + Sun fits…
    const two = { periods: [{ day: 1, open: '08:00', close: '12:00' }, { day: 1, open: '13:00', close: '18:00' }, { day: 6, open: '10:00', close: '14:00' }] }
    expect(canCopyToWeekdays(two, 1)).toBe(true)
    expect(copyToWeekdays(two, 1).periods).toHaveLength(11)
    // …6 periods a day on 5 days (30) does not: the hours stay as they are.
    const six = { periods: Array.from({ length: 6 }, (_, i) => ({ day: 1, open: `${String(i * 2 + 8).padStart(2, '0')}:00`, close: `${String(i * 2 + 9).padStart(2, '0')}:00` })) }
    expect(canCopyToWeekdays(six, 1)).toBe(false)
    expect(copyToWeekdays(six, 1)).toBe(six)
    // 5 a day on 5 days (25) plus what the weekend has (3) is 28: fits.
    const five = { periods: [...six.periods.slice(0, 5), ...[6, 6, 0].map((day) => ({ day, open: '10:00', close: '11:00' }))] }
    expect(canCopyToWeekdays(five, 1)).toBe(true)
    expect(copyToWeekdays(five, 1).periods).toHaveLength(MAX_PERIODS)
  })
  it('runs a period until midnight (24:00), and back', () => {
    const bh = { periods: [{ day: 5, open: '22:00', close: '23:00' }, { day: 6, open: '00:00', close: '06:00' }] }
    const night = untilMidnight(bh, 0, true)
    // Overnight cover: Friday 22:00 to midnight, then Saturday from 00:00.
    expect(night.periods).toEqual([{ day: 5, open: '22:00', close: '24:00' }, { day: 6, open: '00:00', close: '06:00' }])
    expect(badPeriods(night.periods).size).toBe(0)
    expect(summarizeHours(night, en.days, en.closedDay)).toBe('Fri 22:00–24:00; Sat 00:00–06:00')
    // Off again: an hour after it opens, at the latest 23:59.
    expect(untilMidnight(night, 0, false).periods[0]).toEqual({ day: 5, open: '22:00', close: '23:00' })
    expect(untilMidnight({ periods: [{ day: 5, open: '23:30', close: '24:00' }] }, 0, false).periods[0].close).toBe('23:59')
    // Friday 23:59 is open; Saturday 00:00 too (the next period).
    const fri2359 = Date.UTC(2026, 10, 27, 23, 59)
    expect(isOpenAt(night, 'UTC', fri2359)).toBe(true)
    expect(isOpenAt(night, 'UTC', fri2359 + 60_000)).toBe(true)
  })
  it('says what is wrong, in both languages', () => {
    const periods = [
      { day: 1, open: '09:00', close: '18:00' },
      { day: 1, open: '', close: '18:00' },
      { day: 2, open: '18:00', close: '09:00' },
    ]
    expect([...periodProblems(periods)]).toEqual([[1, 'time'], [2, 'order']])
    // A cleared time asks for a time: it is not "opens must be before closes".
    expect(hoursProblems([periods[1]])).toEqual(['time'])
    expect(problemText('time', en)).toBe(en.enterTime)
    expect(problemText('time', zh)).toBe(zh.enterTime)
    expect(problemText('order', zh)).toBe(zh.badPeriod)
    const many = Array.from({ length: MAX_PERIODS + 1 }, () => ({ day: 3, open: '09:00', close: '10:00' }))
    expect([...badPeriods(many)]).toEqual([MAX_PERIODS])
    expect(hoursProblems(many)).toEqual(['tooMany'])
    expect(problemText('tooMany', en)).toBe('At most 28 periods a week')
    // Too many is said even when the extra period has another problem too.
    expect(hoursProblems([...many.slice(0, MAX_PERIODS), { day: 3, open: '', close: '' }])).toEqual(['time', 'tooMany'])
  })
  it('flags periods the server would refuse', () => {
    expect([...badPeriods([
      { day: 1, open: '09:00', close: '18:00' },
      { day: 1, open: '18:00', close: '09:00' },
      { day: 2, open: '9am', close: '18:00' },
      { day: 7, open: '09:00', close: '10:00' },
      { day: 3, open: '00:00', close: '24:00' },
    ])]).toEqual([1, 2, 3])
  })
  it('keeps an older UTC offset until a time zone replaces it', () => {
    const old = { utc_offset_minutes: 480, periods: [] }
    expect(isLegacy(old)).toBe(true)
    expect(formatOffset(480)).toBe('UTC+08:00')
    expect(formatOffset(-330)).toBe('UTC-05:30')
    expect(formatOffset(0)).toBe('UTC')
    const zoned = withTimezone(old, ' Europe/Paris ', 480)
    expect(zoned).toEqual({ timezone: 'Europe/Paris', periods: [] })
    expect(isLegacy(zoned)).toBe(false)
    expect(withTimezone(zoned, '', 480)).toEqual({ utc_offset_minutes: 480, periods: [] })
    expect(withTimezone({ timezone: 'UTC', periods: [] }, '')).toEqual({ periods: [] })
    expect(normalizeHours(old)).toEqual(old)
    expect(normalizeHours({ timezone: '  ', periods: [{ day: 0, open: '10:00', close: '11:00' }, { day: 1, open: '09:00', close: '10:00' }] })).toEqual({
      periods: [{ day: 1, open: '09:00', close: '10:00' }, { day: 0, open: '10:00', close: '11:00' }],
    })
    expect(normalizeHours(null)).toBeNull()
  })
  it('knows time zones and the local time in them', () => {
    expect(validTimezone('Asia/Shanghai')).toBe(true)
    expect(validTimezone('Mars/Olympus')).toBe(false)
    expect(validTimezone('')).toBe(false)
    expect(localTime(MONDAY_0100_UTC, 'Asia/Shanghai')).toEqual({ day: 1, minutes: 9 * 60, date: '2026-11-23' })
    expect(localTime(MONDAY_0100_UTC, 'America/New_York')).toEqual({ day: 0, minutes: 20 * 60, date: '2026-11-22' })
  })
  it('says whether the hours are open now', () => {
    const bh = { periods: [{ day: 1, open: '09:00', close: '18:00' }] }
    expect(isOpenAt(bh, 'Asia/Shanghai', MONDAY_0100_UTC)).toBe(true)
    expect(isOpenAt(bh, 'Asia/Shanghai', MONDAY_0100_UTC - 60_000)).toBe(false)
    expect(isOpenAt(bh, 'UTC', MONDAY_0100_UTC)).toBe(false)
    expect(isOpenAt({ ...bh, timezone: 'Asia/Shanghai' }, 'UTC', MONDAY_0100_UTC)).toBe(true)
    expect(isOpenAt(bh, 'Asia/Shanghai', MONDAY_0100_UTC, ['2026-11-23'])).toBe(false)
    // The older form: its own offset, and no holidays (as on the server).
    expect(isOpenAt({ ...bh, utc_offset_minutes: 480 }, 'UTC', MONDAY_0100_UTC, ['2026-11-23'])).toBe(true)
    expect(isOpenAt({ ...bh, utc_offset_minutes: 480 }, 'UTC', MONDAY_0100_UTC + 9 * 3_600_000)).toBe(false)
    expect(isOpenAt({ ...bh, timezone: 'Mars/Olympus' }, 'UTC', MONDAY_0100_UTC)).toBe(false)
  })
})
