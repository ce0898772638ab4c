// dom.js: a tiny element builder. Text is always set as text, never parsed as HTML,
// so data from the API or from WhatsApp cannot inject markup.

/**
 * h creates an element. attrs: class, text-free attributes, booleans (true sets the
 * attribute, false/undefined/null skips it) and on<event> listeners. Children are
 * nodes or strings (added as text nodes); null/undefined/false children are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') {
      el.addEventListener(k.slice(2), v);
    } else if (v === true) {
      el.setAttribute(k, '');
    } else {
      el.setAttribute(k, String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** setText replaces an element's content with plain text. */
export function setText(el, text) {
  el.textContent = text == null ? '' : String(text);
}
