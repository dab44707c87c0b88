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
    // The close event comes in a later task, so the one from the previous
    // question (Escape, then Enter at once on Delete…) can arrive after this
    // question opened the dialog again: it would answer this one "no" and the
    // admin's real answer would find nobody listening. A close that finds the
    // dialog open is not this question's.
    const onClose = () => {
      if (dialog.open) return;
      dialog.removeEventListener('close', onClose);
      resolve(dialog.returnValue === 'confirm');
    };
    dialog.addEventListener('close', onClose);
    dialog.showModal();
  });
}
