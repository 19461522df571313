// Sign up and sign in: email and password, posted to the web session API, which sets the
// HttpOnly session cookie. Nothing secret is kept in the page.
import { useState } from 'preact/hooks';
import { ApiError, post, web } from '../lib/api.ts';
import { linkHandler, navigate } from '../lib/router.ts';
import { session, type SessionUser } from '../state.ts';

export const passwordLengthMin = 10;

export function AuthScreen({ mode }: { mode: 'signin' | 'signup' }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event): Promise<void> => {
    event.preventDefault();
    setError('');
    if (mode === 'signup' && password.length < passwordLengthMin) {
      setError(`Use at least ${passwordLengthMin} characters for the password.`);
      return;
    }
    setBusy(true);
    try {
      const answer = await post<{ user: SessionUser }>(`${web}/${mode}`, { email, password });
      session.set({ loaded: true, user: answer.user });
      navigate('/trade');
    } catch (failure) {
      setError(failure instanceof ApiError ? failure.message : String(failure));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="auth">
      <form class="card" onSubmit={submit} data-testid={`${mode}-form`}>
        <h1>{mode === 'signup' ? 'Create your account' : 'Sign in'}</h1>
        <label>
          Email
          <input type="email" name="email" autocomplete="username" required value={email} onInput={(event) => setEmail(event.currentTarget.value)} />
        </label>
        <label>
          Password
          <input
            type="password"
            name="password"
            autocomplete={mode === 'signup' ? 'new-password' : 'current-password'}
            required
            value={password}
            onInput={(event) => setPassword(event.currentTarget.value)}
          />
        </label>
        {error && <p class="error" role="alert">{error}</p>}
        <button class="primary wide" type="submit" disabled={busy}>
          {mode === 'signup' ? 'Sign up' : 'Sign in'}
        </button>
        <p class="muted small">
          {mode === 'signup' ? (
            <>
              Have an account? <a href="/signin" onClick={linkHandler('/signin')}>Sign in</a>
            </>
          ) : (
            <>
              New here? <a href="/signup" onClick={linkHandler('/signup')}>Create an account</a>
            </>
          )}
        </p>
      </form>
    </div>
  );
}
