#!/usr/bin/env python3
"""Loads a dkm HTML report in headless Chromium and checks it the way a reader would see it.

Usage: browser-check.py REPORT.html --screenshots DIR [--chromium PATH] [--timeout SECONDS] [--width PX]

Checks, in light and in dark colour scheme:
  - the page loads with no console error, no uncaught exception and no browser log error
    (Content-Security-Policy violations are logged as errors);
  - no request leaves the file: every request is file: or data:;
  - the page carries the Content-Security-Policy meta that forbids network loads, and no src/href/url()
    in the HTML points at http(s) or a protocol-relative address;
  - every chart (svg.dkm-chart) has marks (.mark elements) with a non-empty drawn box;
  - sorting the layer table by a numeric column orders the rows;
  - the layer table fits the window without a sideways scroll (window --width, default 1920 px);
and saves a full-page screenshot per scheme (DIR/<stem>-light.png, DIR/<stem>-dark.png).

Talks to Chromium over --remote-debugging-pipe (DevTools protocol on fds 3 and 4), so it needs only
python3 and Debian's chromium. Prints one line per check; exit status 0 when everything passed, 1 on a
failed check, 2 on bad usage or when the browser could not be driven.
"""
import argparse
import base64
import fcntl
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time

CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:"


class Browser:
    """A headless Chromium driven over the DevTools pipe."""

    def __init__(self, chromium, timeout):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="dkm-browser-")
        to_child_r, self.to_child = os.pipe()
        self.from_child, from_child_w = os.pipe()
        # The child reads commands on fd 3 and writes replies on fd 4. Both ends are first moved above
        # 10 so placing one cannot clobber the other; pass_fds keeps 3 and 4 open across exec.
        def wire_fds():
            r = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10)
            w = fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)
            os.dup2(r, 3)
            os.dup2(w, 4)
        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-extensions", "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
                 "--force-color-profile=srgb", "--remote-debugging-pipe",
                 "--user-data-dir=" + self.profile, "about:blank"]
        self.proc = subprocess.Popen([chromium] + flags, preexec_fn=wire_fds, pass_fds=(3, 4),
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        os.close(to_child_r)
        os.close(from_child_w)
        self.buffer = b""
        self.next_id = 0
        self.events = []

    def close(self):
        try:
            self.send("Browser.close")
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self.to_child)
        os.close(self.from_child)
        shutil.rmtree(self.profile, ignore_errors=True)

    def _read_message(self, deadline):
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no reply from chromium")
            ready, _, _ = select.select([self.from_child], [], [], left)
            if ready:
                chunk = os.read(self.from_child, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium closed the DevTools pipe")
                self.buffer += chunk
        raw, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(raw)

    def send(self, method, params=None, session=None):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.to_child, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, method, session):
        deadline = time.monotonic() + self.timeout
        for i, e in enumerate(self.events):
            if e.get("method") == method and e.get("sessionId") == session:
                return self.events.pop(i)
        while True:
            e = self._read_message(deadline)
            if e.get("method") == method and e.get("sessionId") == session:
                return e
            self.events.append(e)

    def drain(self, seconds):
        """Collects events for a moment (late console messages, requests)."""
        deadline = time.monotonic() + seconds
        try:
            while True:
                self.events.append(self._read_message(deadline))
        except TimeoutError:
            pass


def static_checks(html):
    problems = []
    if f'<meta http-equiv="Content-Security-Policy" content="{CSP}">' not in html:
        problems.append("missing the Content-Security-Policy meta")
    external = re.compile(r"""(?:\b(?:src|href|xlink:href|action|poster|data)\s*=\s*["']?\s*(?:https?:)?//)"""
                          r"""|(?:url\(\s*["']?\s*(?:https?:)?//)|(?:@import)""", re.IGNORECASE)
    for m in external.finditer(html):
        problems.append("external reference: " + html[m.start():m.start() + 80].replace("\n", " "))
    for tag in ("<link", "<iframe", "<object", "<embed"):
        if tag in html.lower():
            problems.append("element that can load a resource: " + tag)
    return problems


PAGE_CHECK = r"""
(() => {
  const charts = Array.from(document.querySelectorAll("svg.dkm-chart")).map(svg => {
    const marks = Array.from(svg.querySelectorAll(".mark"));
    const drawn = marks.filter(m => { const b = m.getBBox(); return b.width > 0 || b.height > 0; }).length;
    const title = svg.querySelector("title");
    return {title: title ? title.textContent : "", marks: marks.length, drawn: drawn,
            width: svg.getBoundingClientRect().width};
  });
  const bg = getComputedStyle(document.body).backgroundColor;
  const table = document.querySelector("table.sortable");
  const wrap = table ? table.closest(".table-wrap") : null;
  return JSON.stringify({charts, bg, height: document.documentElement.scrollHeight,
                         rows: table ? table.tBodies[0].rows.length : 0,
                         table_overflow: wrap ? wrap.scrollWidth - wrap.clientWidth : 0});
})()
"""

# Run after the screenshots so they show the table in model order.
SORT_CHECK = r"""
(() => {
  let sorted = null;
  const table = document.querySelector("table.sortable");
  if (table) {
    const heads = Array.from(table.tHead.rows[0].cells);
    const col = heads.findIndex(h => h.classList.contains("num"));
    if (col >= 0) {
      heads[col].querySelector("button").click();
      const values = Array.from(table.tBodies[0].rows).map(r => r.cells[col].getAttribute("data-v"))
        .filter(v => v !== "").map(Number);
      sorted = values.every((v, i) => i === 0 || values[i - 1] <= v);
      heads[col].querySelector("button").click();  // descending
      const down = Array.from(table.tBodies[0].rows).map(r => r.cells[col].getAttribute("data-v"))
        .filter(v => v !== "").map(Number);
      sorted = sorted && down.every((v, i) => i === 0 || down[i - 1] >= v);
      heads[0].querySelector("button").click();
    }
  }
  return JSON.stringify(sorted);
})()
"""


def check_scheme(browser, url, scheme, screenshot, failures, slice_height=0, width=1920):
    target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page", "Runtime", "Log", "Network"):
        browser.send(domain + ".enable", session=session)
    browser.send("Emulation.setEmulatedMedia",
                 {"features": [{"name": "prefers-color-scheme", "value": scheme}]}, session=session)
    browser.send("Emulation.setDeviceMetricsOverride",
                 {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False}, session=session)
    browser.events.clear()
    browser.send("Page.navigate", {"url": url}, session=session)
    browser.wait_event("Page.loadEventFired", session)
    browser.drain(0.5)
    result = browser.send("Runtime.evaluate", {"expression": PAGE_CHECK, "returnByValue": True}, session=session)
    if "exceptionDetails" in result:
        failures.append(f"[{scheme}] page check threw: {result['exceptionDetails']}")
        return
    page = json.loads(result["result"]["value"])
    browser.drain(0.3)

    for e in browser.events:
        if e.get("sessionId") != session:
            continue
        method, p = e.get("method"), e.get("params", {})
        if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
            failures.append(f"[{scheme}] console error: {text}")
        elif method == "Runtime.exceptionThrown":
            failures.append(f"[{scheme}] uncaught exception: {p['exceptionDetails'].get('text')}")
        elif method == "Log.entryAdded" and p["entry"].get("level") == "error":
            failures.append(f"[{scheme}] browser error: {p['entry'].get('text')}")
        elif method == "Network.requestWillBeSent":
            req = p["request"]["url"]
            if not (req.startswith("file:") or req.startswith("data:") or req == "about:blank"):
                failures.append(f"[{scheme}] external request: {req}")

    if not page["charts"]:
        failures.append(f"[{scheme}] no charts on the page")
    for c in page["charts"]:
        if c["marks"] == 0 or c["drawn"] == 0:
            failures.append(f"[{scheme}] chart without marks: {c['title']}")
        if c["width"] < 100:
            failures.append(f"[{scheme}] chart drawn too narrow ({c['width']} px): {c['title']}")
    if page["table_overflow"] > 0:
        failures.append(f"[{scheme}] the layer table scrolls sideways at {width} px ({page['table_overflow']} px hidden)")
    print(f"[{scheme}] {len(page['charts'])} charts, marks per chart "
          f"{[c['marks'] for c in page['charts']]}, {page['rows']} table rows, background {page['bg']}")

    height = min(int(page["height"]), 16000)
    shot = browser.send("Page.captureScreenshot",
                        {"format": "png", "captureBeyondViewport": True,
                         "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}}, session=session)
    with open(screenshot, "wb") as f:
        f.write(base64.b64decode(shot["data"]))
    print(f"[{scheme}] screenshot {screenshot} ({width} x {height})")
    # Optional slices of the page, for looking at the details at full size.
    for n, y in enumerate(range(0, height, slice_height) if slice_height > 0 else []):
        part = browser.send("Page.captureScreenshot",
                            {"format": "png", "captureBeyondViewport": True,
                             "clip": {"x": 0, "y": y, "width": width, "height": min(slice_height, height - y),
                                      "scale": 1}}, session=session)
        with open(screenshot[:-4] + f"-{n}.png", "wb") as f:
            f.write(base64.b64decode(part["data"]))
    result = browser.send("Runtime.evaluate", {"expression": SORT_CHECK, "returnByValue": True}, session=session)
    sorted_ok = json.loads(result["result"]["value"]) if "exceptionDetails" not in result else False
    if sorted_ok is False:
        failures.append(f"[{scheme}] sorting the table by a numeric column did not order the rows")
    print(f"[{scheme}] table sort {'ok' if sorted_ok else 'not checked (no table)' if sorted_ok is None else 'FAILED'}")
    browser.drain(0.2)
    for e in browser.events:
        if e.get("sessionId") == session and e.get("method") in ("Runtime.exceptionThrown",):
            failures.append(f"[{scheme}] uncaught exception while sorting: {e['params']['exceptionDetails'].get('text')}")
    browser.send("Target.closeTarget", {"targetId": target})


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("report")
    ap.add_argument("--screenshots", required=True, help="directory for the PNG screenshots")
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    ap.add_argument("--timeout", type=float, default=60)
    ap.add_argument("--width", type=int, default=1920, help="window width in CSS pixels")
    ap.add_argument("--slices", type=int, default=0, metavar="PX",
                    help="also save the page in slices of this height (NAME-SCHEME-N.png)")
    args = ap.parse_args()
    if not os.path.isfile(args.report):
        print(f"browser-check: {args.report}: no such file", file=sys.stderr)
        return 2
    if not os.path.isfile(args.chromium):
        print(f"browser-check: chromium not found at {args.chromium}", file=sys.stderr)
        return 2
    with open(args.report, encoding="utf-8") as f:
        html = f.read()
    failures = static_checks(html)
    os.makedirs(args.screenshots, exist_ok=True)
    stem = os.path.splitext(os.path.basename(args.report))[0]
    url = "file://" + os.path.abspath(args.report)
    browser = Browser(args.chromium, args.timeout)
    try:
        for scheme in ("light", "dark"):
            check_scheme(browser, url, scheme, os.path.join(args.screenshots, f"{stem}-{scheme}.png"), failures,
                         args.slices, args.width)
    except (TimeoutError, RuntimeError, OSError) as e:
        print(f"browser-check: could not drive chromium: {e}", file=sys.stderr)
        return 2
    finally:
        browser.close()
    for f in failures:
        print("FAIL " + f)
    print("browser-check: " + ("passed" if not failures else f"{len(failures)} problem(s)"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
