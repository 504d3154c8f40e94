// The lifecycle strings of the console's language (kept apart from the
// pure dictionaries so their unit test needs no browser).
import { computed } from 'vue'
import { lang } from './i18n'
import { type LifecycleDict, lifecycleEn, lifecycleZh } from './lifecycleStrings'

export const tl = computed<LifecycleDict>(() => (lang.value === 'zh-CN' ? lifecycleZh : lifecycleEn))
