"""Headless Debian Chromium driven by Selenium, shared by the browser tests.

The browser has no network but the loopback: host names do not resolve (except
localhost and 127.0.0.1) and every other request goes to a proxy that is not there, so
a page that needs a CDN shows it. `offsite_requests(driver)` lists every request the
page made that left this machine (from Chromium's own network log), for the tests to
assert there were none.

The tests skip (with the reason) when Chromium or its driver is not installed:
`apt-get install chromium chromium-driver` (.ci/run does it). Where the browser must be
there, COURSE_REQUIRE_CHROMIUM=1 (.ci/run sets it) turns that skip into a failure.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")


CHROMIUM_FLAGS = (
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--window-size=1280,900",
    # no network: nothing resolves but the loopback, and the rest goes to a dead proxy
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1",
    "--proxy-server=http://127.0.0.1:9",  # loopback addresses bypass it implicitly
)

# chrome-untrusted: Chromium's own new-tab page (chrome-untrusted://new-tab-page/...), never the web
LOCAL_SCHEMES = {"file", "data", "blob", "about", "chrome", "chrome-untrusted", "devtools",
                 "chrome-extension"}
LOCAL_HOSTS = {"localhost", "127.0.0.1", "[::1]", "::1"}


def require_chromium() -> None:
    """Skip the calling test when Chromium or chromedriver is missing (fail where required)."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        reason = (f"browser test needs {' and '.join(missing)} "
                  "(apt-get install chromium chromium-driver)")
        if os.environ.get("COURSE_REQUIRE_CHROMIUM") == "1":
            pytest.fail(f"{reason}; COURSE_REQUIRE_CHROMIUM=1 says it must be installed")
        pytest.skip(reason)


@contextlib.contextmanager
def chromium():
    """A fresh headless Chromium (own profile directory), always closed afterwards."""
    require_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
        driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)),
                                  options=options)
        driver.set_page_load_timeout(60)
        driver.requested_urls = []
        try:
            yield driver
        finally:
            driver.quit()


def requested_urls(driver) -> list[str]:
    """Every URL the browser requested so far (all pages and frames), from its network log."""
    for entry in driver.get_log("performance"):  # reading the log empties it: keep them
        message = json.loads(entry["message"])["message"]
        if message.get("method") == "Network.requestWillBeSent":
            driver.requested_urls.append(message["params"]["request"]["url"])
    return list(driver.requested_urls)


def offsite_requests(driver) -> list[str]:
    """The requested URLs that would have left this machine (none should)."""
    offsite = []
    for url in requested_urls(driver):
        parts = urlsplit(url)
        if parts.scheme in LOCAL_SCHEMES:
            continue
        if parts.scheme in ("http", "https", "ws", "wss") and parts.hostname in LOCAL_HOSTS:
            continue
        offsite.append(url)
    return offsite


def wait_for_script(driver, script: str, timeout: float = 60):
    """Run `script` in the page until it returns something true (or time is up); return its value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.25)
    return driver.execute_script(script)
