import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/** Builds the UI into ../dist/web, which the API server serves at `/`. `npm run dev` proxies /api to a local server. */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy: { '/api': { target: process.env.TRAINYARD_API ?? 'http://127.0.0.1:8080', changeOrigin: false } },
  },
});
