#!/usr/bin/env python3
"""Opens bookrec's pages in headless Chromium, as a person would, and prints what it saw as JSON.

Used by the service tests (ServiceTests.swift), which compare it with `bookrec-query recommend`.
Drives Debian's chromium through chromedriver (Selenium); writes screenshots into --screenshots.

    check-pages-in-browser.py --base http://127.0.0.1:8080 --reader 7 --book 1 \
        --unknown-reader 999999999 --screenshots .run/screenshots
"""
import argparse
import json
import os

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

# Resolves once every image has loaded or failed, with what each became.
IMAGES = """
const done = arguments[arguments.length - 1];
const images = Array.from(document.images);
Promise.all(images.map(i => i.complete ? null : new Promise(r => { i.onload = r; i.onerror = r; })))
  .then(() => done(images.map(i => ({src: i.getAttribute('src'), alt: i.alt, natural_width: i.naturalWidth}))));
"""


def page(driver, url, screenshot):
    driver.get(url)
    seen = {
        "url": driver.current_url,
        "heading": driver.find_element(By.TAG_NAME, "h1").text,
        "titles": [e.text for e in driver.find_elements(By.CSS_SELECTOR, "ol.books a.title")],
        "reasons": [e.text for e in driver.find_elements(By.CSS_SELECTOR, "ol.books .why")],
        "images": driver.execute_async_script(IMAGES),
        "overflows": driver.execute_script("return document.documentElement.scrollWidth > window.innerWidth"),
    }
    if screenshot:
        driver.save_screenshot(screenshot)
    return seen


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--reader", type=int, required=True)
    parser.add_argument("--book", type=int, required=True)
    parser.add_argument("--unknown-reader", type=int, required=True)
    parser.add_argument("--screenshots", required=True)
    args = parser.parse_args()
    os.makedirs(args.screenshots, exist_ok=True)
    shot = lambda name: os.path.join(args.screenshots, name)

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1200,1600"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    driver.set_script_timeout(30)
    try:
        result = {
            "reader": page(driver, f"{args.base}/readers/{args.reader}", shot("reader.png")),
            "book": page(driver, f"{args.base}/books/{args.book}", shot("book.png")),
            "unknown_reader": page(driver, f"{args.base}/readers/{args.unknown_reader}", shot("unknown-reader.png")),
        }
        # Keyboard: the first Tab lands on the first link, and the look-up box works without a mouse.
        driver.get(f"{args.base}/")
        driver.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
        result["first_tab_stop"] = driver.execute_script(
            "const e = document.activeElement; return e.tagName + ' ' + (e.getAttribute('href') || e.id || '')")
        box = driver.find_element(By.ID, "reader-id")
        box.send_keys(str(args.reader))
        box.send_keys(Keys.ENTER)
        result["looked_up"] = driver.current_url
        # A phone's width: the reader page must not scroll sideways.
        driver.set_window_size(390, 844)
        result["reader_on_phone"] = page(driver, f"{args.base}/readers/{args.reader}", shot("reader-phone.png"))
    finally:
        driver.quit()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
