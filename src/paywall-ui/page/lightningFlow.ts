import qrcode from 'qrcode-generator';
import type { PaymentRequirements } from '../../protocol/schemas';
import { PageFailure } from './failures';

/** What the page's Lightning panel is made of. */
export type LightningPanel = {
  panel: HTMLElement;
  qr: HTMLElement;
  invoice: HTMLTextAreaElement;
  copy: HTMLButtonElement;
  wait: HTMLElement;
};

const POLL_MS = 1_000;

/**
 * Shows the offer's BOLT11 invoice (text, QR code, copy button) and polls the server's invoice status endpoint
 * with the offer's macaroon until the invoice is paid (from any wallet: a phone scanning the code), then
 * answers the L402 credential `Authorization: L402 <macaroon>:<preimage>`. Throws when the invoice expires or
 * the offer's time runs out.
 */
export async function payLightning(
  offer: PaymentRequirements,
  statusUrl: string,
  ui: LightningPanel,
  deadline: number,
  progress: (text: string) => void,
): Promise<string> {
  const invoice = offer.extra.invoice;
  const macaroon = offer.extra.macaroon;
  if (typeof invoice !== 'string' || typeof macaroon !== 'string')
    throw new PageFailure('This Lightning offer carries no invoice.');
  const qr = qrcode(0, 'L');
  qr.addData(`LIGHTNING:${invoice.toUpperCase()}`, 'Alphanumeric');
  qr.make();
  ui.qr.innerHTML = qr.createSvgTag({ cellSize: 4, margin: 2, scalable: true });
  ui.invoice.value = invoice;
  ui.panel.hidden = false;
  ui.copy.onclick = () => {
    void navigator.clipboard
      ?.writeText(invoice)
      .then(() => progress('Invoice copied. Pay it from any Lightning wallet; this page waits for it.'))
      .catch(() => {
        ui.invoice.select();
        progress('Select the invoice text and copy it (the browser did not allow copying).');
      });
  };
  ui.invoice.focus();
  progress('Scan the QR code or copy the invoice into a Lightning wallet. This page waits for the payment.');
  for (;;) {
    if (Date.now() > deadline)
      throw new PageFailure('The Lightning invoice expired unpaid. Reload the page for a fresh invoice.');
    let state: { state?: string; preimage?: string } = {};
    try {
      const res = await fetch(statusUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ macaroon }),
      });
      state = (await res.json()) as typeof state;
    } catch {
      state = {};
    }
    if (state.state === 'paid' && typeof state.preimage === 'string') {
      ui.wait.textContent = 'Invoice paid.';
      return `L402 ${macaroon}:${state.preimage}`;
    }
    if (state.state === 'expired')
      throw new PageFailure('The Lightning invoice expired unpaid. Reload the page for a fresh invoice.');
    if (state.state === 'invalid' || state.state === 'unknown')
      throw new PageFailure('The server no longer knows this invoice. Reload the page for a fresh one.');
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}
