// Entry point of the Inspect States webview (dist/webview.js, with dist/webview.css).

import './nonce';
import 'uplot/dist/uPlot.min.css';
import './panel.css';
import { App } from './app';
import { connectHost } from './host';
import { registerToolkit } from './ui/toolkit';

registerToolkit();
const root = document.getElementById('app');
if (root) new App(root, connectHost()).start();
else console.error('LSTM Lens: the page has no #app element');
