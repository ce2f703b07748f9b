import { useState } from 'preact/hooks';
import { login, type Session } from '../session.js';
import { ErrorBox, errorText } from '../ui.js';

/** Keystone credentials: user, password, project (domain Default). */
export function LoginPage(props: { onLogin: (s: Session) => void; notice: string | null }) {
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [project, setProject] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      props.onLogin(await login(user.trim(), password, project.trim() === '' ? user.trim() : project.trim()));
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="login">
      <form class="card" onSubmit={(e) => void submit(e)} aria-label="Log in">
        <h1>
          <span class="logo">◆</span> Polyvisor
        </h1>
        <p class="muted">Log in with your cloud credentials (domain Default).</p>
        {props.notice && <p class="notice">{props.notice}</p>}
        <ErrorBox error={error} />
        <label>
          User name
          <input name="username" autocomplete="username" value={user} onInput={(e) => setUser(e.currentTarget.value)} required autofocus />
        </label>
        <label>
          Password
          <input name="password" type="password" autocomplete="current-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} required />
        </label>
        <label>
          Project
          <input name="project" value={project} placeholder="same as the user name" onInput={(e) => setProject(e.currentTarget.value)} />
        </label>
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Logging in…' : 'Log in'}
        </button>
      </form>
    </div>
  );
}
