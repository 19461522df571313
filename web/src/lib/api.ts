// Every HTTP call the UI makes: the public Binance-dialect API (/api/v3), the web session
// API (/api/v1/web, cookie session + CSRF header) and, through it, the admin bridge.
// Errors keep the server's `{code, msg}` so screens can show exactly what the server said.

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const csrfCookieName = 'bourse_csrf';
const requestTimeoutMs = 15_000;

function csrfToken(): string {
  for (const part of document.cookie.split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === csrfCookieName) return decodeURIComponent(value.join('='));
  }
  return '';
}

type Query = Record<string, string | number | boolean | undefined | null>;

function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const parameters = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== '') parameters.set(key, String(value));
  }
  const text = parameters.toString();
  return text ? `${path}?${text}` : path;
}

/**
 * The CSRF cookie comes with the first GET of the session, which the app sends as it starts;
 * a form submitted before that answer arrives (a quick click on a slow link) fetches it first
 * rather than failing the server's CSRF check.
 */
async function csrfTokenEnsured(): Promise<string> {
  const token = csrfToken();
  if (token !== '') return token;
  try {
    await fetch(`${web}/session`, { headers: { Accept: 'application/json' }, credentials: 'same-origin' });
  } catch {
    // The request below reports the network failure.
  }
  return csrfToken();
}

export async function request<T>(method: string, path: string, options: { query?: Query; body?: unknown } = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = await csrfTokenEnsured();
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), requestTimeoutMs);
  let response: Response;
  try {
    response = await fetch(withQuery(path, options.query), { method, headers, body, credentials: 'same-origin', signal: controller.signal });
  } catch (error) {
    throw new ApiError(0, 0, controller.signal.aborted ? 'The server did not answer in time.' : `Network error: ${(error as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
  const text = await response.text();
  let payload: unknown = null;
  if (text) {
    try {
      payload = JSON.parse(text);
    } catch {
      payload = text;
    }
  }
  if (!response.ok) {
    const error = payload as { code?: number; msg?: string; message?: string } | null;
    const message = (error && (error.msg ?? error.message)) || `HTTP ${response.status}`;
    throw new ApiError(response.status, error?.code ?? 0, message);
  }
  return payload as T;
}

export const get = <T>(path: string, query?: Query): Promise<T> => request<T>('GET', path, { query });
export const post = <T>(path: string, body?: unknown): Promise<T> => request<T>('POST', path, { body: body ?? {} });
export const put = <T>(path: string, body?: unknown): Promise<T> => request<T>('PUT', path, { body: body ?? {} });
export const del = <T>(path: string, body?: unknown): Promise<T> => request<T>('DELETE', path, { body });

export const web = '/api/v1/web';
