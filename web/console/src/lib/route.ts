// Hash routes: #/inbox, #/inbox/<conversation>, #/admin/<page>.
import { ref } from 'vue'

export interface Route {
  section: 'inbox' | 'admin'
  id: string | null
}

function parse(): Route {
  const parts = location.hash.replace(/^#\/?/, '').split('/')
  if (parts[0] === 'admin') return { section: 'admin', id: parts[1] || 'agents' }
  return { section: 'inbox', id: parts[1] ? decodeURIComponent(parts[1]) : null }
}

export const route = ref<Route>(parse())
window.addEventListener('hashchange', () => (route.value = parse()))

export function go(hash: string) {
  location.hash = hash
}
