// The webview's side of the VS Code API: typed posting to the extension host, and the saved state
// that VS Code keeps while the panel is hidden (getState/setState, JSON only).

import type { WebviewGpuToHost } from '../src/protocol/gpu';
import type { PanelToHost } from '../src/protocol/panel';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

export interface Host {
  post(message: PanelToHost | WebviewGpuToHost): void;
  getState(): unknown;
  setState(state: unknown): void;
}

/** The API of this page (acquireVsCodeApi may be called only once per page). */
export function connectHost(): Host {
  const api: VsCodeApi =
    typeof acquireVsCodeApi === 'function'
      ? acquireVsCodeApi()
      : // Opened outside VS Code (a plain browser): nothing to talk to.
        { postMessage: () => undefined, getState: () => undefined, setState: () => undefined };
  return {
    post: (message) => api.postMessage(message),
    getState: () => api.getState(),
    setState: (state) => api.setState(state),
  };
}
