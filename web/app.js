// @ts-check
// Copy buttons and the token mask on the connect page; everything else is server-rendered.
for (const button of /** @type {NodeListOf<HTMLButtonElement>} */ (document.querySelectorAll('button[data-copy]'))) {
  button.addEventListener('click', async () => {
    // The element's text is the whole line, the token included, whatever the mask shows.
    const text = document.getElementById(button.dataset['copy'] ?? '')?.textContent ?? '';
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = 'Copied';
    } catch {
      button.textContent = 'Select and copy';
    }
    setTimeout(() => (button.textContent = 'Copy'), 1500);
  });
}

// The token is masked on screen (a shoulder, a screen share, a screenshot): a short blurred
// chip instead of the text. Styles are set through the DOM, which the strict CSP allows.
const secrets = /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('.secret'));
const reveal = /** @type {HTMLButtonElement | null} */ (document.getElementById('reveal-token'));

/** @param {boolean} shown */
function showTokens(shown) {
  for (const el of secrets) {
    el.style.filter = shown ? '' : 'blur(5px)';
    el.style.display = shown ? '' : 'inline-block';
    el.style.maxWidth = shown ? '' : '9em';
    el.style.overflow = shown ? '' : 'hidden';
    el.style.verticalAlign = shown ? '' : 'bottom';
    el.style.whiteSpace = shown ? '' : 'nowrap';
    el.style.userSelect = shown ? '' : 'none';
    el.setAttribute('aria-hidden', shown ? 'false' : 'true');
    el.title = shown ? '' : 'token hidden: use Show token, or Copy';
  }
  if (reveal) {
    reveal.textContent = shown ? 'Hide token' : 'Show token';
    reveal.setAttribute('aria-pressed', String(shown));
  }
}

if (secrets.length && reveal) {
  showTokens(false);
  reveal.hidden = false;
  reveal.addEventListener('click', () => showTokens(reveal.getAttribute('aria-pressed') !== 'true'));
}
