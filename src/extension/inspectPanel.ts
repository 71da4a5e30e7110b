// The Inspect States panel, host side. This version shows the model of the active file: the
// tensor shapes through the whole computation and every parameter, rendered on the host as static
// HTML under a Content Security Policy that allows no script at all.

import * as vscode from 'vscode';
import type { Checkpoint } from '../engine/checkpoint';
import { tensorShapes } from '../engine/inspect';
import { parameterSpecs } from '../engine/model';
import type { ModelStore } from './modelStore';

export class InspectPanel {
  private static current: InspectPanel | null = null;
  private readonly panel: vscode.WebviewPanel;

  private constructor(context: vscode.ExtensionContext) {
    this.panel = vscode.window.createWebviewPanel('lstmLens.inspect', 'LSTM Lens: States', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, {
      enableScripts: false,
      localResourceRoots: [vscode.Uri.joinPath(context.extensionUri, 'dist')],
    });
    this.panel.onDidDispose(() => {
      InspectPanel.current = null;
    });
  }

  static show(context: vscode.ExtensionContext, store: ModelStore, document: vscode.TextDocument | null, log: vscode.LogOutputChannel): void {
    const view = InspectPanel.current ?? (InspectPanel.current = new InspectPanel(context));
    view.panel.reveal(undefined, true);
    const name = document ? document.uri.path.split('/').pop() ?? document.uri.path : null;
    let ckpt: Checkpoint | null = null;
    let problem: string | null = null;
    if (!document) problem = 'Open a file to see its model.';
    else if (!store.has(document.uri.toString())) problem = `${name} has no model yet: run “LSTM Lens: Train LSTM on This File”.`;
    else {
      try {
        ckpt = store.load(document.uri.toString());
      } catch (e) {
        problem = `The saved model for ${name} cannot be read: ${(e as Error).message}`;
        log.warn(problem);
      }
    }
    view.panel.title = name ? `LSTM Lens: ${name}` : 'LSTM Lens: States';
    view.panel.webview.html = renderPage(view.panel.webview, ckpt, name, problem);
  }
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

function nonce(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function renderPage(webview: vscode.Webview, ckpt: Checkpoint | null, name: string | null, problem: string | null): string {
  const styleNonce = nonce();
  const csp = `default-src 'none'; img-src ${webview.cspSource}; style-src 'nonce-${styleNonce}'`;
  let body: string;
  if (!ckpt) {
    body = `<p class="problem">${escapeHtml(problem ?? '')}</p>`;
  } else {
    const T = ckpt.settings.sequence_length;
    const B = 1;
    const rows = tensorShapes(ckpt.config, B, T)
      .map(([tensor, shape]) => `<tr><td><code>${escapeHtml(tensor)}</code></td><td>(${shape.join(', ')})</td></tr>`)
      .join('');
    const params = parameterSpecs(ckpt.config)
      .map((s) => `<tr><td><code>${escapeHtml(s.name)}</code></td><td>(${s.shape.join(', ')})</td><td class="num">${s.size.toLocaleString('en-US')}</td></tr>`)
      .join('');
    const total = parameterSpecs(ckpt.config).reduce((a, s) => a + s.size, 0);
    const c = ckpt.config;
    body = `
      <h1>${escapeHtml(name ?? '')}</h1>
      <p>${ckpt.vocab.kind}-level, vocabulary ${c.vocab_size}; ${c.num_layers} layer(s) of ${c.hidden_size}${c.bidirectional ? ' in both directions' : ''};
         ${c.embedding_size === null ? 'one-hot input' : `embedding ${c.embedding_size}`}; ${c.mode.replace(/_/g, '-')}.
         Trained ${ckpt.training.step} steps; loss ${ckpt.training.loss?.toFixed(4) ?? 'n/a'}.</p>
      <h2>Tensors of one sequence (batch ${B}, ${T} steps)</h2>
      <table><thead><tr><th>tensor</th><th>shape</th></tr></thead><tbody>${rows}</tbody></table>
      <h2>Parameters (${total.toLocaleString('en-US')})</h2>
      <table><thead><tr><th>parameter</th><th>shape</th><th>count</th></tr></thead><tbody>${params}</tbody></table>`;
  }
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<style nonce="${styleNonce}">
  body { font-family: var(--vscode-font-family); color: var(--vscode-foreground); padding: 0 1em; }
  table { border-collapse: collapse; margin-bottom: 1.5em; }
  th, td { text-align: left; padding: 2px 12px 2px 0; border-bottom: 1px solid var(--vscode-panel-border); }
  td.num { text-align: right; }
  code { font-family: var(--vscode-editor-font-family); }
  .problem { color: var(--vscode-descriptionForeground); }
</style></head><body>${body}</body></html>`;
}
