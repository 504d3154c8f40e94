import { describe, expect, it } from 'vitest'
import { duration, heatmap, lastDays, percent, reportQuery, shade, type ReportRow } from './reports'

const row = (key: string, opened: number): ReportRow =>
  ({ key, conversations_opened: opened }) as ReportRow

describe('reports', () => {
  it('says durations and shares briefly', () => {
    expect(duration(null)).toBe('—')
    expect(duration(44.6)).toBe('45s')
    expect(duration(200)).toBe('3m 20s')
    expect(duration(180)).toBe('3m')
    expect(duration(7500)).toBe('2h 5m')
    expect(duration(3 * 86400 + 4 * 3600 + 5)).toBe('3d 4h')
    expect(percent(0.256)).toBe('26%')
    expect(percent(null)).toBe('—')
  })

  it('lays the hours of the week out Monday first, and shades by the busiest hour', () => {
    const { grid, max } = heatmap([row('1-00', 2), row('7-23', 8), row('3-09', 4), row('total', 99), row('8-01', 5)])
    expect(grid).toHaveLength(7)
    expect(grid[0][0]).toBe(2)
    expect(grid[6][23]).toBe(8)
    expect(grid[2][9]).toBe(4)
    expect(max).toBe(8)
    expect(shade(8, 8)).toBe(1)
    expect(shade(0, 8)).toBe(0)
    expect(shade(1, 1000)).toBe(0.08)
  })

  it('picks the last days and builds the query', () => {
    expect(lastDays(7, new Date(2026, 10, 30, 15))).toEqual({ from: '2026-11-24', to: '2026-11-30' })
    expect(lastDays(1, new Date(2026, 0, 1))).toEqual({ from: '2026-01-01', to: '2026-01-01' })
    expect(reportQuery({ from: '2026-11-01', to: '2026-11-30', groupBy: 'day', business: true })).toBe('from=2026-11-01&to=2026-11-30&group_by=day&business_hours=true')
    expect(reportQuery({ from: 'a', to: 'b', groupBy: 'agent', business: false, tz: 'Asia/Shanghai' })).toBe('from=a&to=b&group_by=agent&tz=Asia%2FShanghai')
  })
})
