// Pure logic of the reports page: the API's report shape, durations in
// words, the weekday × hour grid of the heatmap, and the default period.
// No I/O; unit-tested.

/** One row of GET /api/v1/reports/summary (docs/reports.md defines each figure). */
export interface ReportRow {
  key: string
  conversations_opened: number
  conversations_reopened: number
  conversations_resolved: number
  resolution_time_avg_s: number | null
  first_responses: number
  first_response_avg_s: number | null
  replies: number
  reply_time_avg_s: number | null
  queue_waits: number
  queue_wait_avg_s: number | null
  queue_abandoned: number
  bot_conversations: number
  bot_resolved: number
  handed_off: number
  handoff_rate: number | null
  bot_resolution_rate: number | null
  transfers: number
  csat_ratings: number
  csat_avg: number | null
  csat_response_rate: number | null
}

export interface Report {
  from: number
  to: number
  tz: string
  group_by: string
  business_hours: boolean
  complete: boolean
  rows: ReportRow[]
  total: ReportRow
  csat_distribution: number[]
}

/** A duration in seconds as a short text: `45s`, `3m 20s`, `2h 5m`, `3d 4h`; `—` for none. */
export function duration(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) return '—'
  const t = Math.round(s)
  if (t < 60) return `${t}s`
  if (t < 3600) return `${Math.floor(t / 60)}m${t % 60 ? ` ${t % 60}s` : ''}`
  if (t < 86400) return `${Math.floor(t / 3600)}h${Math.floor((t % 3600) / 60) ? ` ${Math.floor((t % 3600) / 60)}m` : ''}`
  return `${Math.floor(t / 86400)}d${Math.floor((t % 86400) / 3600) ? ` ${Math.floor((t % 86400) / 3600)}h` : ''}`
}

/** A share (0 to 1) as a percentage; `—` for none. */
export function percent(r: number | null | undefined): string {
  return r === null || r === undefined || !Number.isFinite(r) ? '—' : `${Math.round(r * 100)}%`
}

/** The heatmap's cells from an hour_of_week report: 7 rows (Monday first) of 24 counts, and the largest. */
export function heatmap(rows: readonly ReportRow[], pick: (r: ReportRow) => number = (r) => r.conversations_opened): { grid: number[][]; max: number } {
  const grid = Array.from({ length: 7 }, () => Array<number>(24).fill(0))
  let max = 0
  for (const r of rows) {
    const m = /^([1-7])-(\d{2})$/.exec(r.key)
    if (!m) continue
    const day = Number(m[1]) - 1
    const hour = Number(m[2])
    if (hour > 23) continue
    grid[day][hour] += pick(r)
    max = Math.max(max, grid[day][hour])
  }
  return { grid, max }
}

/** How dark a heatmap cell is: 0 (none) to 1 (the busiest hour). */
export function shade(n: number, max: number): number {
  return max > 0 && n > 0 ? Math.max(0.08, n / max) : 0
}

/** `YYYY-MM-DD` of a date in local time. */
export function ymd(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`
}

/** The default period: the last `days` days, today included. */
export function lastDays(days: number, now = new Date()): { from: string; to: string } {
  const start = new Date(now.getFullYear(), now.getMonth(), now.getDate() - (days - 1))
  return { from: ymd(start), to: ymd(now) }
}

/** The query string of a report. */
export function reportQuery(p: { from: string; to: string; groupBy: string; business: boolean; tz?: string }): string {
  const q = new URLSearchParams({ from: p.from, to: p.to, group_by: p.groupBy })
  if (p.business) q.set('business_hours', 'true')
  if (p.tz) q.set('tz', p.tz)
  return q.toString()
}
