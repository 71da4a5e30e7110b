// Must be the first import of the entry. FAST (under the toolkit) probes for :focus-visible support
// when its modules load, by adding a <style> element; under the panel's CSP that element needs the
// page's nonce, which FAST looks for in <meta property="csp-nonce">. The nonce is the one our own
// <script> carries, so the page's policy is not widened: only styles the policy already allows.

const script = document.currentScript as HTMLScriptElement | null;
const nonce = script?.nonce || script?.getAttribute('nonce') || '';
if (nonce && !document.querySelector('meta[property="csp-nonce"]')) {
  const meta = document.createElement('meta');
  meta.setAttribute('property', 'csp-nonce');
  meta.setAttribute('content', nonce);
  document.head.append(meta);
}

export {};
