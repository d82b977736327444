/** Dark mode: follows the system until the reader picks one; the pick is kept per browser. */
const KEY = 'ocb-theme';

function current(): 'dark' | 'light' {
  const set = document.documentElement.dataset.theme;
  if (set === 'dark' || set === 'light') return set;
  return window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

export function initThemeToggle(): void {
  const button = document.getElementById('theme-toggle');
  if (!button) return;
  const render = () => button.setAttribute('aria-pressed', String(current() === 'dark'));
  render();
  button.addEventListener('click', () => {
    const next = current() === 'dark' ? 'light' : 'dark';
    document.documentElement.dataset.theme = next;
    try {
      localStorage.setItem(KEY, next);
    } catch {
      // private mode: the choice lasts for this page only
    }
    render();
    document.dispatchEvent(new CustomEvent('ocb-theme', { detail: next }));
  });
  window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', render);
}
