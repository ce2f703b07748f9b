// The part of noVNC's RFB class (npm @novnc/novnc, core/rfb.js; it ships no types) that the console page uses.
declare module '@novnc/novnc' {
  export interface RfbOptions {
    shared?: boolean;
    credentials?: { username?: string; password?: string; target?: string };
    wsProtocols?: string[];
  }
  export default class RFB extends EventTarget {
    constructor(target: HTMLElement, urlOrChannel: string | WebSocket, options?: RfbOptions);
    scaleViewport: boolean;
    resizeSession: boolean;
    viewOnly: boolean;
    focusOnClick: boolean;
    background: string;
    sendCtrlAltDel(): void;
    disconnect(): void;
    focus(options?: FocusOptions): void;
  }
}
