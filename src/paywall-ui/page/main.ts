/**
 * The paywall page script (bundled and inlined by `npm run build:pages`): wires each offer's button to its
 * flow, pays, loads the paid resource, and shows the receipt verified against the server's JWKS.
 */
import { formatUnits, PAGE_DATA_ID, type OfferView, type PageData } from '../pageData';
import { jsonToBase64 } from './bytes';
import { payEvm } from './evmFlow';
import { PageFailure } from './failures';
import { payPermit2 } from './permit2Flow';
import { payLightning } from './lightningFlow';
import { retryWithPayment, type PaidAnswer } from './retryWithPayment';
import { paySolana } from './solanaFlow';
import { verifyReceiptInPage } from './verifyReceiptInPage';
import { listenForWallets } from './walletStandard';

const byId = <T extends HTMLElement>(id: string): T => {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing`);
  return element as T;
};

const data = JSON.parse(byId(PAGE_DATA_ID).textContent ?? '{}') as PageData;
const statusBox = byId('status');
const buttons = [...document.querySelectorAll<HTMLButtonElement>('button.pay')];
let busy = false;

function say(text: string, kind: 'info' | 'error' | 'ok' = 'info'): void {
  statusBox.textContent = text;
  statusBox.className = `status${kind === 'info' ? '' : ` ${kind}`}`;
}

function deadlineOf(view: OfferView): number {
  const offer = data.paymentRequired.accepts[view.index];
  return data.issuedAt + (offer?.maxTimeoutSeconds ?? 60) * 1000;
}

async function pay(view: OfferView): Promise<void> {
  const offer = data.paymentRequired.accepts[view.index];
  if (!offer) return;
  if (Date.now() > deadlineOf(view))
    throw new PageFailure(
      'This offer expired before it was paid. Nothing was charged: reload the page for a fresh offer.',
    );
  let headers: Record<string, string>;
  if (view.flow === 'lightning') {
    if (!data.invoiceStatusUrl) throw new PageFailure('This server cannot tell the page when the invoice is paid.');
    const panel = {
      panel: byId('lightning'),
      qr: byId('ln-qr'),
      invoice: byId<HTMLTextAreaElement>('ln-invoice'),
      copy: byId<HTMLButtonElement>('ln-copy'),
      wait: byId('ln-wait'),
    };
    headers = { Authorization: await payLightning(offer, data.invoiceStatusUrl, panel, deadlineOf(view), say) };
  } else {
    const { payload, extensions } =
      view.flow === 'evm-permit2' || view.flow === 'evm-upto'
        ? await payPermit2(offer, view, data.paymentRequired.extensions, say)
        : { payload: view.flow === 'evm-eip3009' ? await payEvm(offer, view, say) : await paySolana(offer, view, say) };
    headers = {
      'PAYMENT-SIGNATURE': jsonToBase64({
        x402Version: 2,
        resource: data.paymentRequired.resource,
        accepted: offer,
        payload,
        ...(extensions ? { extensions } : {}),
      }),
    };
  }
  say('Payment signed. Sending it to the server…');
  const answer = await retryWithPayment(data.method, data.url, headers);
  await showPaid(view, answer);
}

/** What was paid: the offer's amount, or for `upto` the receipt's charge out of the authorized maximum. */
function chargedText(view: OfferView, answer: PaidAnswer): string {
  if (view.flow !== 'evm-upto') return view.amountText;
  const charged = answer.receipt?.amount;
  if (typeof charged !== 'string') return view.amountText;
  return `${formatUnits(charged, view.decimals)} ${view.symbol} charged (authorized ${view.amountText})`;
}

async function showPaid(view: OfferView, answer: PaidAnswer): Promise<void> {
  byId('lightning').hidden = true;
  const result = byId('result');
  const list = byId('receipt');
  const rows: [string, string][] = [
    ['Rail', answer.receipt?.rail ?? view.flow],
    ['Amount', chargedText(view, answer)],
    ['Network', view.networkName],
    ['Reference', answer.receipt?.reference ?? '(no receipt)'],
  ];
  list.replaceChildren(
    ...rows.flatMap(([k, v]) => [
      Object.assign(document.createElement('dt'), { textContent: k }),
      Object.assign(document.createElement('dd'), { textContent: v }),
    ]),
  );
  const check = byId('receipt-check');
  if (answer.receipt) {
    const verdict = await verifyReceiptInPage(answer.receipt, data.jwksUrl, { method: data.method, url: data.url });
    check.textContent = verdict.ok
      ? `Receipt verified: signed by the server's key ${verdict.kid}.`
      : `Receipt NOT verified: ${verdict.reason}.`;
    check.className = verdict.ok ? 'verified' : 'unverified';
  } else {
    check.textContent = 'The server sent no signed receipt.';
    check.className = 'unverified';
  }
  let content = answer.body;
  if (answer.contentType.includes('json')) {
    try {
      content = JSON.stringify(JSON.parse(answer.body), null, 2);
    } catch {
      content = answer.body;
    }
  }
  byId('content').textContent = content;
  result.hidden = false;
  for (const b of buttons) b.disabled = true;
  say(`Paid ${chargedText(view, answer)}. Here is what you paid for.`, 'ok');
  byId('result-title').focus();
}

listenForWallets();
for (const button of buttons) {
  const view = data.offers[Number(button.dataset.offer)];
  if (!view) continue;
  button.disabled = false;
  button.addEventListener('click', () => {
    if (busy) return;
    busy = true;
    for (const b of buttons) b.disabled = true;
    pay(view)
      .catch((error: unknown) => {
        say(
          error instanceof PageFailure
            ? error.message
            : `Something went wrong: ${error instanceof Error ? error.message : String(error)}. Nothing was charged.`,
          'error',
        );
        for (const b of buttons) b.disabled = false;
      })
      .finally(() => {
        busy = false;
      });
  });
}
