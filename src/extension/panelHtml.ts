// The Inspect States page: a shell that loads the webview bundle under a strict Content Security
// Policy (nothing but our own nonce'd script and styles; no remote content, no eval). Pure, so the
// browser tests load exactly the page the extension serves.

export interface PanelPage {
  /** URIs of the bundle (webview.js, webview.css) as the webview may load them. */
  scriptUri: string;
  styleUri: string;
  /** The webview's cspSource (vscode-webview://…), or the test server's origin. */
  cspSource: string;
  nonce: string;
}

export function contentSecurityPolicy(page: Pick<PanelPage, 'cspSource' | 'nonce'>): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${page.nonce}'`,
    `style-src ${page.cspSource} 'nonce-${page.nonce}'`,
    `img-src ${page.cspSource} data:`,
    `font-src ${page.cspSource}`,
    // GPU training runs in a worker made from the host's script as a blob: (see webview/gpu/relay.ts).
    'worker-src blob:',
  ].join('; ');
}

export function panelHtml(page: PanelPage): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy(page)}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${page.styleUri}" nonce="${page.nonce}">
<title>LSTM Lens: States</title>
</head>
<body>
<main id="app" aria-live="polite"></main>
<script nonce="${page.nonce}" src="${page.scriptUri}"></script>
</body>
</html>`;
}

/** 128 random bits as hex, for the nonce of one page load. */
export function makeNonce(): string {
  const bytes = new Uint8Array(16);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
