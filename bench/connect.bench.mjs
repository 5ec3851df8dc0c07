// Connect time: from the Connect click on the demo page (www/index.html) to
// the page showing status "connected", in headless Chromium, then in headless
// Firefox (VOICELINK_BROWSERS, default both), against the dev peer on loopback. Includes getUserMedia (fake device), the peer connection,
// the WHIP POST and ICE/DTLS. One page, RUNS connects in a row, each followed
// by a Disconnect (not timed); each connect is a new WHIP session.
//   connect.ms_p50           median over the runs, ms (Chromium)
//   connect.ms_p50.firefox   the same in Firefox (webdriver.json prefs: fake microphone)
// BENCH_CONNECT_RUNS (default 20) sets the number of runs.
import { peerUrl, peerJson, until } from "../scripts/chromium.mjs";
import { summary, round, newBenchPage, perBrowser, launchBrowser, browserVersion, gotoPage, waitForPage } from "./lib.mjs";

export const name = "connect";
export const needsPeer = true;

const RUNS = Number(process.env.BENCH_CONNECT_RUNS || 20);

/** In the page: click Connect, resolve with ms until #status reads "connected". */
function timeOneConnect(timeoutMs) {
  return new Promise((resolve, reject) => {
    const status = document.querySelector("#status");
    let t0 = 0;
    let seenConnecting = false;
    const done = (fn, arg) => {
      observer.disconnect();
      clearTimeout(timer);
      fn(arg);
    };
    const observer = new MutationObserver(() => {
      const s = status.textContent;
      if (s === "connecting") seenConnecting = true;
      if (s === "connected") done(resolve, performance.now() - t0);
      else if (s === "failed" || (s === "disconnected" && seenConnecting)) {
        done(reject, new Error(`status ${s}: ${document.querySelector("#error").textContent}`));
      }
    });
    observer.observe(status, { childList: true, characterData: true, subtree: true });
    const timer = setTimeout(() => done(reject, new Error(`not connected after ${timeoutMs} ms (status ${status.textContent})`)), timeoutMs);
    t0 = performance.now();
    document.querySelector("#connect").click();
  });
}

export function run() {
  return perBrowser(runIn);
}

async function runIn(browserName) {
  const browser = await launchBrowser(browserName);
  try {
    console.log(`  ${browserName} ${await browserVersion(browser)}`);
    const page = await newBenchPage(browser);
    await gotoPage(page, `${peerUrl}/`);
    await waitForPage(page, () => !document.querySelector("#connect").disabled, null, 20_000);

    const times = [];
    for (let i = 0; i < RUNS; i++) {
      const ms = await page.evaluate(timeOneConnect, 20_000);
      times.push(ms);
      await page.click("#disconnect");
      await waitForPage(page, () => document.querySelector("#status").textContent === "disconnected", null, 20_000);
    }

    // Every session the bench opened is closed again.
    await until(async () => (await peerJson("/_dev/state")).sessionsOpen === 0, {
      timeoutMs: 10_000,
      what: "the dev peer to report sessionsOpen 0",
    }).catch((e) => console.warn(`  warning: ${e.message}`));

    const s = summary(times);
    console.log(`  ${s.n} connects: p50 ${s.p50.toFixed(1)} ms, p90 ${s.p90.toFixed(1)} ms, min ${s.min.toFixed(1)} ms, max ${s.max.toFixed(1)} ms (first ${times[0].toFixed(1)} ms)`);
    console.log(`  all (ms): ${times.map((t) => t.toFixed(0)).join(" ")}`);
    return { "connect.ms_p50": round(s.p50) };
  } finally {
    await browser.close();
  }
}
