// Custom contact attributes as the panel edits them: a typed input per
// definition, and the value to store from what was typed. Pure.

import type { AttributeKind } from './types'

/** The `<input type>` of a kind. */
export function inputType(kind: AttributeKind): string {
  return { text: 'text', number: 'number', date: 'date', boolean: 'checkbox', link: 'url' }[kind]
}

/** What a typed value becomes (`null`: removed; `undefined`: not valid for the kind). */
export function parseValue(kind: AttributeKind, raw: string | boolean): string | number | boolean | null | undefined {
  if (kind === 'boolean') return typeof raw === 'boolean' ? raw : raw === 'true'
  const s = String(raw).trim()
  if (!s) return null
  if (kind === 'number') {
    const n = Number(s)
    return Number.isFinite(n) ? n : undefined
  }
  if (kind === 'date') return /^\d{4}-\d{2}-\d{2}$/.test(s) ? s : undefined
  if (kind === 'link') return /^https?:\/\/\S+$/i.test(s) ? s : undefined
  return s
}

/** A stored value as the input shows it. */
export function showValue(v: unknown): string {
  if (v === null || v === undefined) return ''
  return typeof v === 'object' ? JSON.stringify(v) : String(v)
}
