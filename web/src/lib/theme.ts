/** Light and dark themes: the user's choice, else the system's. */
export type Theme = 'light' | 'dark';
const KEY = 'trainyard.theme';

export function initialTheme(): Theme {
  const saved = localStorage.getItem(KEY);
  if (saved === 'light' || saved === 'dark') return saved;
  return window.matchMedia?.('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

export function applyTheme(t: Theme, save = false): void {
  document.documentElement.dataset.theme = t;
  if (save) localStorage.setItem(KEY, t);
}
