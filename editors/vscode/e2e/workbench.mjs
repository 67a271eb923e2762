// What a test does in the VS Code window and reads back from it: commands through the command
// palette (headless chromium does not deliver every chord, e.g. Alt+\), files through quick open,
// ghost text and the status bar item from the DOM. Waits poll the DOM; none asserts a duration.

const STATUS_ITEM = '[id="spark-lsp.spark-lsp"]';

/** Polls `probe` until it returns a truthy value; fails with `what` and the last value seen. */
export async function waitFor(probe, what, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await probe();
    if (last) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last seen: ${JSON.stringify(last)})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

export class Workbench {
  constructor(page) {
    this.page = page;
  }

  /** Opens `folder` and waits until the extension put its status bar item up. */
  async open(url, folder) {
    await this.page.goto(`${url}/?folder=${encodeURIComponent(folder)}`);
    await this.page.waitForSelector(".monaco-workbench", { timeout: 90_000 });
    await this.page.waitForSelector(STATUS_ITEM, { timeout: 90_000 });
  }

  /** Runs a command by its palette label (`Spark: Show Next Edit`). */
  async command(label) {
    await this.page.keyboard.press("F1");
    const input = this.page.locator(".quick-input-widget input.input");
    await input.waitFor({ state: "visible" });
    await input.fill(`>${label}`);
    const row = this.page.locator(".quick-input-list .monaco-list-row", { hasText: label }).first();
    await row.waitFor({ state: "visible" });
    await input.press("Enter");
  }

  /**
   * Opens the workspace file `name` from the explorer (quick open would search a stale file
   * index) and puts the cursor at its end.
   */
  async openFile(name) {
    const row = this.page.locator(".explorer-folders-view .monaco-list-row", { hasText: new RegExp(`^${name.replace(".", "\\.")}$`) });
    await row.waitFor({ state: "visible" });
    await row.dblclick();
    await this.page.locator(`.tab.active[data-resource-name="${name}"]`).waitFor({ state: "visible" });
    await this.page.locator(".editor-group-container.active .monaco-editor .view-lines").click();
    await this.page.locator(".monaco-editor.focused").waitFor({ state: "visible" });
    await this.page.keyboard.press("Control+End");
    await this.settle();
  }

  /**
   * Waits until the window is idle twice: VS Code creates some editor contributions (the
   * inline suggestions controller among them) only when idle, and ignores typing before that.
   */
  settle() {
    return this.page.evaluate(() => new Promise((resolve) => requestIdleCallback(() => requestIdleCallback(resolve))));
  }

  async type(text) {
    await this.page.keyboard.type(text);
  }

  async press(key) {
    await this.page.keyboard.press(key);
  }

  async save() {
    await this.page.keyboard.press("Control+S");
    await waitFor(async () => (await this.page.locator(".tab.active.dirty").count()) === 0, "the file to be saved");
  }

  /** The ghost text shown in the active editor, lines joined with "\n"; "" when none. */
  ghostText() {
    return this.page.evaluate(() => {
      const editor = document.querySelector(".monaco-editor.focused") ?? document.querySelector(".monaco-editor");
      if (!editor) return "";
      const inline = [...editor.querySelectorAll(".ghost-text-decoration, .ghost-text-decoration-preview")].map((e) => e.textContent);
      const lines = [...editor.querySelectorAll(".suggest-preview-text .view-line")].map((e) => e.textContent);
      return [inline.join(""), ...lines].join("\n").replace(/\u00a0/g, " ").replace(/\n+$/, "");
    });
  }

  /**
   * Waits until the ghost text contains `expected` and the window is idle (so that the
   * suggestion's context keys, which Tab and Ctrl+→ depend on, are set), and returns it whole.
   */
  async waitForGhostText(expected) {
    await waitFor(async () => (await this.ghostText()).includes(expected), `ghost text with ${JSON.stringify(expected)}`);
    await this.settle();
    return this.ghostText();
  }

  /** The status bar item's text and accessible label (which carries the tooltip). */
  status() {
    return this.page.evaluate((selector) => {
      const item = document.querySelector(selector);
      if (!item) return undefined;
      const icons = [...item.querySelectorAll(".codicon")].map((e) => [...e.classList].join(" "));
      return { text: item.textContent?.trim() ?? "", label: item.getAttribute("aria-label") ?? "", icons: icons.join(" ") };
    }, STATUS_ITEM);
  }

  /** Waits until the status bar item satisfies `predicate`. */
  waitForStatus(predicate, what) {
    return waitFor(async () => {
      const status = await this.status();
      return status && predicate(status) ? status : undefined;
    }, `status bar: ${what}`);
  }
}
