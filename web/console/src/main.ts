// Entry of the agent console (Vue 3). A placeholder: the console is built by
// issue 4's agent side on top of this package.
import { createApp } from 'vue'
import App from './App.vue'
import './style.css'

createApp(App).mount('#app')
