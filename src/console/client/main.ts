import RFB from '@novnc/novnc';

/**
 * The console page: noVNC's RFB client on a websocket to this proxy (src/console), opened
 * with the one-time token from the URL (`?token=` or Nova's `?path=%3Ftoken%3D...`). It
 * first asks the proxy what the token opens (`token?token=`, which does not use it up), so
 * an expired or used link is explained before anything connects; a websocket closed by the
 * proxy carries its reason (e.g. the hypervisor's VNC port is unreachable), shown as is.
 */

type State = 'connecting' | 'connected' | 'disconnected' | 'error';

interface TokenInfo {
  console?: { server?: { id?: string; name?: string } };
  error?: { code?: number; reason?: string; message?: string; server?: { name?: string } };
}

const askAgain = (server: string | undefined): string => `Ask for a new one: openstack console url show ${server ?? '<server>'}`;

const statusEl = element('status');
const cadButton = element('ctrl-alt-del') as HTMLButtonElement;
const screenEl = element('screen');

function element(id: string): HTMLElement {
  const e = document.getElementById(id);
  if (e === null) throw new Error(`console page: #${id} is missing`);
  return e;
}

function show(state: State, text: string): void {
  statusEl.dataset['state'] = state;
  statusEl.textContent = text;
  document.title = `${text} · Polyvisor console`;
}

/** The token and the websocket query, from the page's URL. */
function tokenFromUrl(): { token: string | null; wsQuery: string } {
  const params = new URLSearchParams(location.search);
  const direct = params.get('token');
  if (direct !== null && direct !== '') return { token: direct, wsQuery: `?token=${encodeURIComponent(direct)}` };
  const path = params.get('path');
  if (path !== null) {
    const i = path.indexOf('?');
    const t = new URLSearchParams(i >= 0 ? path.slice(i + 1) : path).get('token');
    if (t !== null && t !== '') return { token: t, wsQuery: `?token=${encodeURIComponent(t)}` };
  }
  return { token: null, wsQuery: '' };
}

/** A refusal in a user's words. */
function refusalText(error: NonNullable<TokenInfo['error']> | undefined): string {
  const server = error?.server?.name;
  const message = error?.message;
  switch (error?.reason) {
    case 'expired':
      return `This console link has expired (console links are short-lived). ${askAgain(server)}`;
    case 'used':
      return `This console link was already used: a console link opens one connection. ${askAgain(server)}`;
    case 'unknown':
      return `This console link is not valid (never issued, or expired). ${askAgain(server)}`;
    case 'no_token':
      return `There is no console token in this URL. ${askAgain(server)}`;
    default:
      return sentence(message ?? 'The console proxy refused the connection.');
  }
}

function sentence(s: string): string {
  const t = s.trim();
  if (t === '') return t;
  return `${t.charAt(0).toUpperCase()}${t.slice(1)}${/[.!?…]$/.test(t) ? '' : '.'}`;
}

async function tokenInfo(token: string): Promise<TokenInfo> {
  const res = await fetch(new URL(`token?token=${encodeURIComponent(token)}`, document.baseURI), { cache: 'no-store' });
  return (await res.json()) as TokenInfo;
}

async function start(): Promise<void> {
  const { token, wsQuery } = tokenFromUrl();
  if (token === null) {
    show('error', refusalText({ reason: 'no_token' }));
    return;
  }
  let info: TokenInfo;
  try {
    info = await tokenInfo(token);
  } catch {
    show('error', 'Could not reach the console proxy.');
    return;
  }
  if (info.error !== undefined || info.console === undefined) {
    show('error', refusalText(info.error));
    return;
  }
  const serverName = info.console.server?.name ?? info.console.server?.id ?? 'the server';
  show('connecting', `Connecting to ${serverName}…`);

  const wsUrl = new URL(`websockify${wsQuery}`, document.baseURI);
  wsUrl.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(wsUrl, ['binary']);
  let opened = false;
  let closed: CloseEvent | undefined;
  ws.addEventListener('open', () => {
    opened = true;
  });
  ws.addEventListener('close', (e) => {
    closed = e;
  });

  const rfb = new RFB(screenEl, ws, { shared: true });
  rfb.scaleViewport = true;
  rfb.resizeSession = false;
  rfb.background = '#1e1e1e';
  let connected = false;

  rfb.addEventListener('connect', () => {
    connected = true;
    show('connected', `Connected to ${serverName}`);
    cadButton.disabled = false;
    rfb.focus({ preventScroll: true });
  });
  rfb.addEventListener('disconnect', () => {
    cadButton.disabled = true;
    void explainDisconnect(token, serverName, connected, opened, closed);
  });
  rfb.addEventListener('credentialsrequired', () => {
    show('error', `The VNC server of ${serverName} asks for a password, which Polyvisor consoles do not use.`);
    rfb.disconnect();
  });
  rfb.addEventListener('securityfailure', (e) => {
    const detail = (e as CustomEvent<{ reason?: string }>).detail;
    show('error', `The VNC server of ${serverName} refused the connection${detail.reason ? `: ${detail.reason}` : ''}.`);
  });
  cadButton.addEventListener('click', () => {
    rfb.sendCtrlAltDel();
    rfb.focus({ preventScroll: true });
  });
}

async function explainDisconnect(token: string, serverName: string, wasConnected: boolean, opened: boolean, closed: CloseEvent | undefined): Promise<void> {
  if (statusEl.dataset['state'] === 'error') return;
  const reason = closed?.reason ?? '';
  if (wasConnected) {
    show('disconnected', `Disconnected from ${serverName}${reason ? `: ${reason}` : ''}.`);
    return;
  }
  if (reason !== '') {
    // 4502: the proxy could not reach the hypervisor's VNC port.
    const hint = closed?.code === 4502 && reason.includes('ESX host') ? ' The ESX host must accept VNC connections from the console proxy (RemoteDisplay.vnc ports open in its firewall).' : '';
    show('error', `${sentence(reason)}${hint}`);
    return;
  }
  if (!opened) {
    // The proxy refused the upgrade (the browser does not show its HTTP answer): ask why.
    const info = await tokenInfo(token).catch(() => undefined);
    if (info?.error !== undefined) {
      show('error', refusalText(info.error));
      return;
    }
  }
  show('error', `Could not open the console of ${serverName}.`);
}

void start();
