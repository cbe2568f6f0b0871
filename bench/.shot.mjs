import { chromium } from "playwright-core";
import { pathToFileURL } from "node:url";
const [file, out, actions] = process.argv.slice(2);
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu"] });
const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
await page.goto(pathToFileURL(file).href);
if (actions === "open") await page.locator("#per-prompt-details summary").click();
const height = await page.evaluate(() => document.documentElement.scrollHeight);
console.log("page height", height);
for (let y = 0, i = 0; y < height && i < 6; y += 1300, i++) {
  await page.screenshot({ path: `${out}-${i}.png`, fullPage: true, clip: { x: 0, y, width: 1200, height: Math.min(1300, height - y) } });
}
await browser.close();
