// Entry of the agent console (Vue 3 single-page app under /console/).
import { createApp } from 'vue'
import App from './App.vue'
import { lang } from './lib/i18n'
import './style.css'

document.documentElement.lang = lang.value
createApp(App).mount('#app')
