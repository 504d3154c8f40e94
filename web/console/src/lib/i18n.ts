// The console's language, zh-CN or en (strings.ts holds the strings):
// follows the browser language, switchable, remembered per browser.

import { computed, ref } from 'vue'
import { en, zh, type Dict } from './strings'

export type { Dict }
export { fill } from './strings'

const KEY = 'kefu.console.lang'
export type Lang = 'zh-CN' | 'en'

function initial(): Lang {
  const saved = localStorage.getItem(KEY)
  if (saved === 'zh-CN' || saved === 'en') return saved
  return navigator.language.toLowerCase().startsWith('zh') ? 'zh-CN' : 'en'
}

export const lang = ref<Lang>(initial())
export const t = computed<Dict>(() => (lang.value === 'zh-CN' ? zh : en))

export function setLang(l: Lang) {
  lang.value = l
  localStorage.setItem(KEY, l)
  document.documentElement.lang = l
}

export function time(ms: number): string {
  const d = new Date(ms)
  const today = new Date()
  const sameDay = d.toDateString() === today.toDateString()
  return d.toLocaleString(lang.value, sameDay ? { hour: '2-digit', minute: '2-digit' } : { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' })
}
