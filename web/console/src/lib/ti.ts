// The insight strings (reports, CSAT) of the console's language.
import { computed } from 'vue'
import { lang } from './i18n'
import { type InsightDict, insightEn, insightZh } from './insightStrings'

export const ti = computed<InsightDict>(() => (lang.value === 'zh-CN' ? insightZh : insightEn))
