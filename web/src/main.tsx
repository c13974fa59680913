import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App.js';
import { prefetchRoute } from './lib/prefetch.js';
import { applyTheme, initialTheme } from './lib/theme.js';
import './styles.css';

applyTheme(initialTheme());
prefetchRoute(window.location.pathname, new URLSearchParams(window.location.search));
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
