"""A headless Chromium driven by Selenium, for the console's browser tests and the page
screenshot/load-time script (``bench/bench_console.py``).

Uses Debian's ``/usr/bin/chromium`` and ``/usr/bin/chromedriver`` (or ``CHROMIUM`` /
``CHROMEDRIVER``); nothing is downloaded. ``missing()`` says why a browser cannot run
here (tests skip with that reason), None when it can.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Callable, Optional

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--force-device-scale-factor=1")
WAIT_S = 15.0


def missing() -> Optional[str]:
    """Why the browser tests cannot run (None: they can)."""
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not (Path(path).is_file() and os.access(path, os.X_OK)):
            return f"{path} not found: install Debian's {package} package (apt-get install {package})"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "the selenium package is not installed (pip install -e '.[test]')"
    return None


class Browser:
    """One Chromium with a fresh profile; ``quit()`` ends it and removes the profile."""

    def __init__(self, width: int = 1400, height: int = 900):
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.profile = tempfile.mkdtemp(prefix="mockprom-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={self.profile}")
        options.add_argument(f"--window-size={width},{height}")
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        self.driver.set_page_load_timeout(30)

    def quit(self) -> None:
        try:
            self.driver.quit()
        finally:
            shutil.rmtree(self.profile, ignore_errors=True)

    # -- helpers ---------------------------------------------------------------------------

    def open(self, url: str, ready: bool = True) -> None:
        """Load ``url``; with ``ready``, wait until the page says its first data shows."""
        self.driver.get(url)
        if ready:
            self.wait(lambda: self.js("return document.body.dataset.ready === '1'"), "the page's data")

    def js(self, script: str, *args):
        return self.driver.execute_script(script, *args)

    def wait(self, probe: Callable[[], object], what: str, timeout_s: float = WAIT_S):
        """Poll ``probe()`` until it returns something truthy; fail with ``what``."""
        deadline = time.monotonic() + timeout_s
        last_error = None
        while time.monotonic() < deadline:
            try:
                got = probe()
                if got:
                    return got
            except Exception as exc:  # the element is not there yet
                last_error = exc
            time.sleep(0.05)
        raise AssertionError(f"waited {timeout_s:.0f}s for {what}"
                             + (f" (last error: {last_error})" if last_error else "")
                             + f"; page errors: {self.console_errors()}")

    def find(self, css: str):
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str):
        from selenium.webdriver.common.by import By

        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def text(self, css: str) -> str:
        return self.find(css).text

    def console_errors(self) -> list:
        try:
            return [e["message"] for e in self.driver.get_log("browser") if e.get("level") == "SEVERE"]
        except Exception:
            return []

    def timings(self) -> dict:
        """Navigation start to the load event and to the page's first data, in ms."""
        return self.js("""
            const nav = performance.getEntriesByType('navigation')[0];
            const data = performance.getEntriesByName('mockprom:data')[0];
            return {load: nav ? nav.loadEventEnd : null, data: data ? data.startTime : null,
                    transfer: performance.getEntriesByType('resource')
                        .reduce((n, r) => n + (r.transferSize || 0), nav ? nav.transferSize : 0)};
        """)

    def screenshot(self, path: str, max_height: int = 1600) -> None:
        """A PNG of the page, as tall as its content up to ``max_height`` px."""
        height = self.js("return document.documentElement.scrollHeight")
        window_height = self.js("return window.innerHeight")
        chrome_height = self.driver.get_window_size()["height"] - window_height
        self.driver.set_window_size(self.driver.get_window_size()["width"],
                                    min(max_height, max(600, int(height))) + chrome_height)
        time.sleep(0.3)
        self.driver.save_screenshot(path)
