// Headless Chromium with software WebGL2 (SwiftShader) around dist/gpu-lab.js: the engine on the
// CPU backend and on the WebGL2 backend in one blank page. Used by gpu.test.ts and the WebGL bench.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

const LAB = join(__dirname, '..', '..', '..', 'dist', 'gpu-lab.js');

/** Chromium's software WebGL: SwiftShader through ANGLE (the flags it needs outside a real GPU). */
export const SOFTWARE_WEBGL_ARGS = ['--use-angle=swiftshader', '--enable-unsafe-swiftshader'];

export function launchWebGLBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [...SOFTWARE_WEBGL_ARGS, '--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  });
}

/** A blank page with the lab loaded; page errors are collected. */
export async function openLab(browser: Browser): Promise<{ page: Page; errors: string[] }> {
  if (!existsSync(LAB)) throw new Error('dist/gpu-lab.js is missing: run npm run build first');
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.setContent('<!doctype html><html><body></body></html>');
  await page.addScriptTag({ content: readFileSync(LAB, 'utf8') });
  return { page, errors };
}
