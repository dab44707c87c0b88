// A confirmation dialog for destructive actions: a modal <dialog> whose
// Cancel button has the focus, so Enter or Escape never deletes by accident.
import { $ } from './admin-dom.js';

/** Asks; resolves true only when the admin chose the confirm button. */
export function confirmAction({ title, message, confirmLabel }) {
  const dialog = $('confirm');
  $('confirm-title').textContent = title;
  $('confirm-message').textContent = message;
  $('confirm-ok').textContent = confirmLabel;
  dialog.returnValue = '';
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => resolve(dialog.returnValue === 'confirm'), {
      once: true,
    });
    dialog.showModal();
  });
}
