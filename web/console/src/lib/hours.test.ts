import { describe, expect, it } from 'vitest'
import {
  addPeriod,
  badPeriods,
  copyToWeekdays,
  defaultHours,
  formatOffset,
  isLegacy,
  isOpenAt,
  localTime,
  normalizeHours,
  periodsOfDay,
  removePeriod,
  summarizeHours,
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
    expect(addPeriod({ periods: [{ day: 0, open: '20:00', close: '24:00' }] }, 0).periods[1]).toEqual({ day: 0, open: '23:00', close: '23:59' })
    expect(removePeriod(bh, 0).periods).toEqual([{ day: 1, open: '12:00', close: '13:00' }])
    const week = copyToWeekdays({ periods: [{ day: 1, open: '08:00', close: '12:00' }, { day: 3, open: '10:00', close: '11:00' }, { day: 6, open: '10:00', close: '14:00' }] }, 1)
    expect(summarizeHours(week, en.days, en.closedDay)).toBe('Mon–Fri 08:00–12:00; Sat 10:00–14:00')
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
