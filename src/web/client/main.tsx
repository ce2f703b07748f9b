import { Fragment, render, type ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { setUnauthorizedHandler } from './api.js';
import { FlavorsPage, HypervisorsPage, ServicesPage } from './pages/admin.js';
import { ImagesPage } from './pages/images.js';
import { InstancesPage } from './pages/instances.js';
import { LoginPage } from './pages/login.js';
import { OverviewPage } from './pages/overview.js';
import { forget, loadSession, logout, myProjects, switchProject, type Session } from './session.js';
import { ErrorBox, errorText } from './ui.js';

/** Pages by hash route (#/instances/<id>): the server serves one page, the API does the rest. */
interface Route {
  readonly page: string;
  readonly id: string | null;
}

function parseRoute(): Route {
  const [page = 'overview', id] = window.location.hash.replace(/^#\/?/, '').split('/');
  return { page: page === '' ? 'overview' : page, id: id === undefined || id === '' ? null : decodeURIComponent(id) };
}

const NAV: readonly { page: string; label: string; admin?: boolean }[] = [
  { page: 'overview', label: 'Overview' },
  { page: 'instances', label: 'Instances' },
  { page: 'images', label: 'Images' },
  { page: 'hypervisors', label: 'Hypervisors', admin: true },
  { page: 'flavors', label: 'Flavors', admin: true },
  { page: 'services', label: 'Compute services', admin: true },
];

function App() {
  const [session, setSession] = useState<Session | null>(() => loadSession());
  const [notice, setNotice] = useState<string | null>(null);
  const [route, setRoute] = useState<Route>(parseRoute);

  useEffect(() => {
    const onHash = () => setRoute(parseRoute());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  const expire = useCallback(() => {
    forget();
    setSession(null);
    setNotice('Your session has expired or was ended: log in again.');
  }, []);
  useEffect(() => {
    setUnauthorizedHandler(expire);
    window.addEventListener('polyvisor:expired', expire);
    return () => window.removeEventListener('polyvisor:expired', expire);
  }, [expire]);
  // The token's own expiry also ends the session while the page sits idle.
  useEffect(() => {
    if (session === null) return;
    const ms = Date.parse(session.expiresAt) - Date.now();
    const t = window.setTimeout(expire, Math.max(0, Math.min(ms, 2 ** 31 - 1)));
    return () => window.clearTimeout(t);
  }, [session, expire]);

  if (session === null) {
    return (
      <LoginPage
        notice={notice}
        onLogin={(s) => {
          setNotice(null);
          setSession(s);
        }}
      />
    );
  }
  return (
    <Shell session={session} route={route} onSession={setSession}>
      <Page session={session} route={route} />
    </Shell>
  );
}

function Page(props: { session: Session; route: Route }) {
  const { session, route } = props;
  const nav = NAV.find((n) => n.page === route.page);
  if (nav === undefined) return <p>No such page.</p>;
  if (nav.admin && !session.isAdmin) return <ErrorBox error="This page is for administrators." />;
  switch (route.page) {
    case 'instances':
      return <InstancesPage key={session.projectId} session={session} selected={route.id} />;
    case 'images':
      return <ImagesPage key={session.projectId} session={session} selected={route.id} />;
    case 'hypervisors':
      return <HypervisorsPage />;
    case 'flavors':
      return <FlavorsPage />;
    case 'services':
      return <ServicesPage />;
    default:
      return <OverviewPage key={session.projectId} session={session} />;
  }
}

function Shell(props: { session: Session; route: Route; onSession: (s: Session | null) => void; children: ComponentChildren }) {
  const { session } = props;
  const [projects, setProjects] = useState<{ id: string; name: string }[]>([]);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    myProjects()
      .then(setProjects)
      .catch(() => setProjects([]));
  }, [session.userId]);
  const change = async (projectId: string) => {
    if (projectId === session.projectId) return;
    try {
      props.onSession(await switchProject(session, projectId));
    } catch (err) {
      setError(errorText(err));
    }
  };
  return (
    <div class="shell">
      <aside class="nav">
        <div class="brand">
          <span class="logo">◆</span> Polyvisor
        </div>
        <nav aria-label="Main">
          {NAV.filter((n) => !n.admin || session.isAdmin).map((n, i, all) => (
            <Fragment key={n.page}>
              {n.admin && !all[i - 1]?.admin && <div class="nav-section">Admin</div>}
              <a href={`#/${n.page}`} class={props.route.page === n.page ? 'active' : ''}>
                {n.label}
              </a>
            </Fragment>
          ))}
        </nav>
      </aside>
      <div class="main">
        <header class="topbar">
          <label class="inline">
            Project
            <select aria-label="Project" value={session.projectId} onChange={(e) => void change(e.currentTarget.value)} disabled={projects.length < 2}>
              {(projects.some((p) => p.id === session.projectId) ? projects : [{ id: session.projectId, name: session.projectName }, ...projects]).map((p) => (
                <option key={p.id} value={p.id}>
                  {p.name}
                </option>
              ))}
            </select>
          </label>
          <div class="spacer" />
          <span class="user" data-user={session.userName}>
            {session.userName}
            {session.isAdmin ? ' (admin)' : ''}
          </span>
          <button
            onClick={() => {
              void logout(session).then(() => props.onSession(null));
            }}
          >
            Log out
          </button>
        </header>
        <main>
          <ErrorBox error={error} onClose={() => setError(null)} />
          {props.children}
        </main>
      </div>
    </div>
  );
}

const root = document.getElementById('app');
if (root !== null) render(<App />, root);
