// Path-based routing for the single-page app (the server falls back to index.html for
// unknown paths, so deep links such as /trade/ETHUSDT work on reload).
import { Store, useStore } from './store.ts';

export const currentPath = new Store(location.pathname);

export function navigate(path: string): void {
  if (path === location.pathname) return;
  history.pushState(null, '', path);
  currentPath.set(path);
}

addEventListener('popstate', () => currentPath.set(location.pathname));

export function usePath(): string {
  return useStore(currentPath);
}

/** An anchor that navigates without a page load. */
export function linkHandler(path: string) {
  return (event: MouseEvent): void => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    event.preventDefault();
    navigate(path);
  };
}
