// The visitor widget: one self-contained IIFE file, dist/widget/widget.js,
// served by kefu at the stable URL /widget.js (short cache + ETag). Styles are
// bundled into it as a string and applied inside a Shadow DOM.
import { defineConfig } from 'vite'

export default defineConfig({
  // Copied as-is next to widget.js: the demo page's stylesheet (/demo.css).
  publicDir: 'widget/public',
  build: {
    outDir: 'dist/widget',
    emptyOutDir: true,
    target: 'es2019',
    sourcemap: false,
    lib: {
      entry: 'widget/src/main.ts',
      formats: ['iife'],
      name: 'kefuWidget',
      fileName: () => 'widget.js',
    },
  },
})
