// The header's Menu button on a phone (under 40rem, admin-header.css): a disclosure
// (WAI-ARIA Authoring Practices, "Disclosure (Show/Hide)") that shows View
// slideshow and the logouts on a line of their own, so the closed header is
// two lines, not four. Escape, or a tap outside the header, closes it again;
// Escape gives the focus back to the button. Wider, the button is not shown and
// the menu's items are the header's own (CSS alone).
import { $ } from './admin-dom.js';

function setOpen(open) {
  $('menu-button').setAttribute('aria-expanded', String(open));
  document.querySelector('.bar').classList.toggle('menu-open', open);
}

/** Wires the Menu button. */
export function initMenu() {
  const button = $('menu-button');
  const bar = document.querySelector('.bar');
  button.addEventListener('click', () => setOpen(button.getAttribute('aria-expanded') !== 'true'));
  bar.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape' || button.getAttribute('aria-expanded') !== 'true') return;
    setOpen(false);
    if ($('menu').contains(document.activeElement)) button.focus();
  });
  document.addEventListener('click', (e) => {
    if (!bar.contains(e.target)) setOpen(false);
  });
}
