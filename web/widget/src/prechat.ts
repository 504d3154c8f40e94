// Pre-chat fields that are also contact attributes the workspace defines
// (the console's Attributes page): the form asks for them under the
// definition's label, with an input of its type, and sends a typed answer,
// so the agent's contact panel shows and edits it like any attribute. Pure.

import type { AttributeDef, PrechatField } from './types'

/** How a field is asked: its label and the `<input type>` (or `textarea`). */
export interface Asked {
  label: string
  type: string
}

const TYPES: Record<AttributeDef['kind'], string> = { text: '', number: 'number', date: 'date', boolean: 'checkbox', link: 'url' }

/** The label and input type of field `f`: the definition's when its key is defined, else the field's own. */
export function askAs(f: PrechatField, defs: AttributeDef[] | undefined): Asked {
  const d = defs?.find((x) => x.key === f.key)
  return { label: d?.label || f.label, type: (d && TYPES[d.kind]) || f.kind }
}

/**
 * The value sent for what was entered in an input of `type`: a number for a
 * number, yes/no for a checkbox, the trimmed text otherwise; `undefined` when
 * nothing (or no valid number) was entered.
 */
export function answer(type: string, raw: string, checked: boolean): string | number | boolean | undefined {
  if (type === 'checkbox') return checked
  const s = raw.trim()
  if (!s) return undefined
  if (type === 'number') {
    const n = Number(s)
    return Number.isFinite(n) ? n : undefined
  }
  return s
}
