// The kefu widget. A customer's page includes
//   <script src="https://kefu.example.com/widget.js" data-inbox="KEY" async></script>
// and gets a chat launcher. The base URL comes from the script's own src.
// Page API: kefu('open'), kefu('close'), kefu('identify', {name, email, ...}),
// kefu('on', 'message', fn), kefu('locale', 'en' | 'zh-CN'). Calls made before
// the script loaded are queued by the usual stub:
//   window.kefu = window.kefu || function () { (kefu.q = kefu.q || []).push(arguments) }
import { Client } from './client'
import type { Lang } from './i18n'
import type { KV } from './state'
import { memoryKV } from './state'
import { Widget } from './ui'

type Api = ((cmd: string, ...args: unknown[]) => void) & { q?: ArrayLike<unknown>[]; loaded?: boolean }

function storage(): KV {
  try {
    const s = window.localStorage
    const probe = '__kefu'
    s.setItem(probe, '1')
    s.removeItem(probe)
    return {
      get: (k) => s.getItem(k),
      set: (k, v) => {
        try {
          s.setItem(k, v)
        } catch {
          /* full: keep going in memory */
        }
      },
      del: (k) => s.removeItem(k),
    }
  } catch {
    return memoryKV()
  }
}

function boot(): void {
  const w = window as unknown as { kefu?: Api }
  if (w.kefu?.loaded) return
  const script = (document.currentScript ?? document.querySelector('script[data-inbox][src*="widget.js"]')) as HTMLScriptElement | null
  const key = script?.dataset.inbox
  if (!script || !key) {
    console.error('kefu: the widget script needs a data-inbox attribute')
    return
  }
  const base = new URL(script.src, location.href).origin
  const mode = script.dataset.mode === 'page' ? 'page' : 'launcher'
  const client = new Client(base, key, storage())
  const widget = new Widget(client, mode)
  let ready: Promise<void> = new Promise((ok) => client.on('session', () => ok()))
  const queued = w.kefu?.q ?? []
  const api: Api = (cmd, ...args) => {
    switch (cmd) {
      case 'open':
        return widget.setOpen(true)
      case 'close':
        return widget.setOpen(false)
      case 'locale':
        return widget.setLang(args[0] as Lang)
      case 'on':
        if (args[0] === 'message' && typeof args[1] === 'function') widget.onMessage(args[1] as (m: unknown) => void)
        return
      case 'identify':
        ready = ready.then(() => client.identify((args[0] ?? {}) as Record<string, unknown>)).catch((e) => console.warn('kefu identify:', e))
        return
      default:
        console.warn(`kefu: unknown command ${cmd}`)
    }
  }
  api.loaded = true
  w.kefu = api
  const start = () => {
    widget.mount()
    for (const args of Array.from(queued)) api(...(Array.from(args) as [string, ...unknown[]]))
    client.start()
  }
  if (document.body) start()
  else document.addEventListener('DOMContentLoaded', start)
}

boot()
