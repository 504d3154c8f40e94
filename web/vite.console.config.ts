// The agent console: a Vue 3 single-page app under /console/. Vite gives the
// assets hashed names (dist/console/assets/*-<hash>.js|css), which kefu serves
// as immutable; index.html is served with no-cache and a strict CSP.
// console/public/ (the web app manifest, the icons and the service worker
// sw.js, which must keep a fixed URL in the console's scope) is copied
// as is to dist/console/ and served with no-cache.
import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

export default defineConfig({
  root: 'console',
  base: '/console/',
  plugins: [vue()],
  publicDir: 'public',
  build: {
    outDir: '../dist/console',
    emptyOutDir: true,
    target: 'es2020',
    // No inline scripts: the CSP allows only 'self'.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
})
