// Drives the admin page in headless Chromium over the DevTools protocol on a
// pipe (--remote-debugging-pipe: messages are JSON, each ended by a NUL, on
// the browser's file descriptors 3 and 4), so it needs nothing but Node and
// Chromium: no npm package, no network.
//
//   node admin_ui_driver.mjs CHROMIUM PAGE_URL AUTHORIZATION SEQ SCREENSHOT
//
// Opens PAGE_URL sending AUTHORIZATION on every request, waits for the
// outbox row of dead letter SEQ, clicks its Retry button with the mouse,
// waits until the page says the retry was done and shows the row as
// pending, and saves a PNG screenshot of the whole page to SCREENSHOT.
// Exits 0 and prints the page's message on success; exits 1 with the reason
// on stderr otherwise (a JavaScript error on the page is a failure too).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [chromium, pageUrl, authorization, seq, screenshot] = process.argv.slice(2);
if (!screenshot) {
  console.error('usage: node admin_ui_driver.mjs CHROMIUM PAGE_URL AUTHORIZATION SEQ SCREENSHOT');
  process.exit(2);
}

const profile = mkdtempSync(join(tmpdir(), 'fhirsync-chromium-'));
const flags = ['--headless=new', '--remote-debugging-pipe', '--disable-gpu', '--no-first-run',
  '--no-default-browser-check', '--disable-extensions', '--disable-background-networking',
  `--user-data-dir=${profile}`, '--window-size=1280,1400'];
// Chromium's sandbox refuses to run as root (CI runs as root).
if (process.getuid && process.getuid() === 0) flags.push('--no-sandbox');
const browser = spawn(chromium, [...flags, 'about:blank'],
  { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
browser.on('error', (error) => {
  console.error(`admin_ui_driver: cannot start ${chromium}: ${error.message}`);
  process.exit(1);
});
let browserLog = '';
browser.stderr.on('data', (chunk) => { browserLog = (browserLog + chunk).slice(-4000); });

let nextId = 1;
const waiting = new Map();
const listeners = [];
let buffered = '';
browser.stdio[4].on('data', (chunk) => {
  buffered += chunk.toString('utf8');
  let end;
  while ((end = buffered.indexOf('\0')) >= 0) {
    const message = JSON.parse(buffered.slice(0, end));
    buffered = buffered.slice(end + 1);
    if (message.id && waiting.has(message.id)) {
      const { resolve, reject, method } = waiting.get(message.id);
      waiting.delete(message.id);
      if (message.error) reject(new Error(`${method}: ${message.error.message}`));
      else resolve(message.result);
    } else if (message.method) {
      for (const listener of listeners) listener(message);
    }
  }
});

function send(method, params = {}, sessionId = undefined) {
  const id = nextId++;
  const message = { id, method, params };
  if (sessionId) message.sessionId = sessionId;
  return new Promise((resolve, reject) => {
    waiting.set(id, { resolve, reject, method });
    browser.stdio[3].write(JSON.stringify(message) + '\0');
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what, check, seconds = 30, describe = undefined) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) {
      const seen = describe ? `; the page shows ${await describe()}` : '';
      throw new Error(`timed out waiting for ${what}${seen}`);
    }
    await sleep(100);
  }
}

async function main() {
  const pageErrors = [];
  listeners.push((event) => {
    if (event.method === 'Runtime.exceptionThrown') {
      pageErrors.push(event.params.exceptionDetails.exception?.description ||
                      event.params.exceptionDetails.text);
    }
  });
  const { targetId } = await send('Target.createTarget', { url: 'about:blank' });
  const { sessionId } = await send('Target.attachToTarget', { targetId, flatten: true });
  const page = (method, params) => send(method, params, sessionId);
  const evaluate = async (expression) => {
    const answer = await page('Runtime.evaluate', { expression, returnByValue: true });
    if (answer.exceptionDetails) throw new Error(`${expression}: ${answer.exceptionDetails.text}`);
    return answer.result.value;
  };
  await page('Runtime.enable');
  await page('Page.enable');
  await page('Network.enable');
  await page('Network.setExtraHTTPHeaders', { headers: { Authorization: authorization } });
  const navigated = await page('Page.navigate', { url: pageUrl });
  if (navigated.errorText) throw new Error(`cannot open ${pageUrl}: ${navigated.errorText}`);

  const button = `document.querySelector('button[data-action="retry"][data-seq="${seq}"]')`;
  // The page marks itself loaded once every part has loaded; until then a
  // part still loading can move the button after its place was measured,
  // and the click would land beside it.
  await until('the page to load',
    () => evaluate('!!(document.body && document.body.dataset.loaded)'));
  await until(`the Retry button of dead letter ${seq}`, () => evaluate(`!!${button}`));
  const point = await evaluate(`(() => {
    const b = ${button};
    b.scrollIntoView({ block: 'center' });
    const r = b.getBoundingClientRect();
    return { x: r.left + r.width / 2, y: r.top + r.height / 2 };
  })()`);
  // A real click: the mouse moves there, presses and releases.
  await page('Input.dispatchMouseEvent', { type: 'mouseMoved', x: point.x, y: point.y });
  await page('Input.dispatchMouseEvent',
    { type: 'mousePressed', x: point.x, y: point.y, button: 'left', clickCount: 1 });
  await page('Input.dispatchMouseEvent',
    { type: 'mouseReleased', x: point.x, y: point.y, button: 'left', clickCount: 1 });

  // What the page shows now, for the reason when a wait times out.
  const pageState = () => evaluate(`(() => {
    const row = document.querySelector('tr[data-seq="${seq}"]');
    return 'message "' + document.getElementById('message').textContent + '", row ' +
      (row ? 'state ' + row.dataset.state : 'missing');
  })()`);
  const message = await until('the page to report the retry', () => evaluate(`(() => {
    const text = document.getElementById('message').textContent;
    const row = document.querySelector('tr[data-seq="${seq}"]');
    const failed = text.startsWith('Retry ${seq} failed');
    return failed || (text.startsWith('Retry ${seq}:') && row && row.dataset.state !== 'dead') ? text : '';
  })()`), 30, pageState);
  if (message.startsWith(`Retry ${seq} failed`)) throw new Error(`the page says: ${message}`);

  const shot = await page('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true });
  writeFileSync(screenshot, Buffer.from(shot.data, 'base64'));
  if (pageErrors.length) throw new Error(`JavaScript errors on the page: ${pageErrors.join('; ')}`);
  console.log(message);
}

const timer = setTimeout(() => {
  console.error('admin_ui_driver: gave up after 120 s');
  browser.kill('SIGKILL');
  process.exit(1);
}, 120000);

let exitCode = 0;
try {
  await main();
} catch (error) {
  console.error(`admin_ui_driver: ${error.message}\nchromium's last words: ${browserLog}`);
  exitCode = 1;
}
clearTimeout(timer);
// Close the browser and wait for it (and the helpers writing into its
// profile) to be gone before removing the profile.
const exited = new Promise((resolve) => {
  if (browser.exitCode !== null || browser.signalCode !== null) resolve();
  else browser.once('exit', resolve);
});
try {
  await Promise.race([send('Browser.close'), sleep(5000)]);
} catch (e) {
  // The browser is going anyway.
}
await Promise.race([exited, sleep(10000)]);
browser.kill('SIGKILL');
await Promise.race([exited, sleep(5000)]);
try {
  rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
} catch (error) {
  console.error(`admin_ui_driver: warning: ${profile} not removed: ${error.message}`);
}
process.exit(exitCode);
