// The phone layout's few words, in the console's language.
import { computed } from 'vue'
import { lang } from './i18n'

const en = { back: 'Back', details: 'Details' }
const zh: typeof en = { back: '返回', details: '详情' }

export const phoneStrings = computed(() => (lang.value === 'zh-CN' ? zh : en))
