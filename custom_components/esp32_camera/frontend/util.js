// @ts-check
/** Small helpers shared by every element: element creation, formatting, toasts. */

export const DOMAIN = "esp32_camera";

/**
 * Create an element: h("div", {class: "x", onclick: fn}, child, "text"). Properties that are not
 * strings are set as properties (`.checked`, `.schema`), strings as attributes.
 * @param {string} tag
 * @param {Record<string, any>} [attributes]
 * @param {...any} children
 * @returns {any} the element (typed loosely: Home Assistant's elements have their own properties)
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      element.addEventListener(key.slice(2), value);
    } else if (key in element && typeof value !== "string") {
      /** @type {any} */ (element)[key] = value;
    } else element.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

/**
 * `path` of Home Assistant signed for this user (valid for `expires` s: long enough to open it), as
 * an absolute URL of Home Assistant (the page's, unless the frontend says otherwise).
 * @param {import("./store.js").Hass} hass
 * @param {string} path
 * @param {number} [expires]
 */
export async function signedUrl(hass, path, expires = 60) {
  const signed = await hass.connection.sendMessagePromise({ type: "auth/sign_path", path, expires });
  const base = /** @type {any} */ (hass).auth?.data?.hassUrl || window.location.origin;
  return new URL(signed.path, base);
}

/** An MDI icon. @param {string} name */
export const icon = (name) => h("ha-icon", { icon: `mdi:${name}` });

/**
 * @typedef {(key: string, values?: Record<string, string | number>) => string} Translate
 */

/**
 * Bytes as "1.2 MB" in `locale`.
 * @param {number | null | undefined} bytes
 * @param {string | undefined} locale
 */
export function formatBytes(bytes, locale) {
  if (bytes === null || bytes === undefined) return "–";
  const units = ["byte", "kilobyte", "megabyte", "gigabyte", "terabyte"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  // Bytes in words ("0 bytes", "1 byte": the short form says "0 byte"), the rest short ("1.2 MB").
  return new Intl.NumberFormat(locale, {
    style: "unit",
    unit: units[unit],
    unitDisplay: unit === 0 ? "long" : "short",
    maximumFractionDigits: unit === 0 ? 0 : 1,
  }).format(value);
}

/** The last part of a path: what a toast names, not where the server keeps it. @param {string | null | undefined} path */
export function fileName(path) {
  return (path ?? "").split(/[\\/]/).filter(Boolean).pop() ?? "";
}

/**
 * Show `text` in `element`, breakable after "_", "/", ".", "-" and ":" (a name such as
 * "esp32_simulator" wraps at its separator, never mid-word); unchanged text is left alone.
 * @param {HTMLElement} element
 * @param {string} text
 */
export function setBreakableText(element, text) {
  if (element.textContent === text && element.dataset.text === text) return;
  element.dataset.text = text;
  element.replaceChildren(...text.split(/(?<=[_/.:-])/).flatMap((part, index) => (index ? [document.createElement("wbr"), part] : [part])));
}

/**
 * A duration as "2 d 3 h 4 min" (the largest three units) in the user's language.
 * @param {number | null | undefined} seconds
 * @param {Translate} t
 */
export function formatDuration(seconds, t) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "–";
  const total = Math.max(0, Math.floor(seconds));
  const days = Math.floor(total / 86400);
  const hours = Math.floor((total % 86400) / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const secs = total % 60;
  if (days) return t("duration.days", { days, hours, minutes });
  if (hours) return t("duration.hours", { hours, minutes, seconds: secs });
  if (minutes) return t("duration.minutes", { minutes, seconds: secs });
  return t("duration.seconds", { seconds: secs });
}

/**
 * A number in `locale`, "–" when unknown.
 * @param {number | null | undefined} value
 * @param {string | undefined} locale
 * @param {number} [digits]
 */
export function formatNumber(value, locale, digits = 0) {
  if (value === null || value === undefined) return "–";
  return Number(value).toLocaleString(locale, {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  });
}

/** A time stamp in `locale`. @param {string | null | undefined} iso @param {string | undefined} locale */
export function formatTime(iso, locale) {
  if (!iso) return "–";
  return new Date(iso).toLocaleString(locale);
}

/**
 * A local date "YYYY-MM-DD" as `locale` writes it, e.g. "Wed, Mar 4".
 * @param {string} date
 * @param {string | undefined} locale
 */
export function formatDate(date, locale) {
  return new Date(`${date}T00:00:00`).toLocaleDateString(locale, {
    weekday: "short",
    month: "short",
    day: "numeric",
  });
}

/**
 * Set an element's text only when it changed: writing the same text replaces its text node, and
 * Chromium lays the page out again (a live picture's chips are written several times a second).
 * @param {Node} element
 * @param {string} text
 */
export function setText(element, text) {
  if (element.textContent !== text) element.textContent = text;
}

/**
 * Show or hide an element only when that changes: writing `hidden` again, even unchanged, makes
 * Chromium recompute the element's style (done per painted frame, that is per frame's work).
 * @param {HTMLElement} element
 * @param {boolean} hidden
 */
export function setHidden(element, hidden) {
  if (element.hidden !== hidden) element.hidden = hidden;
}

/**
 * Show each element's translated text: `texts` maps a name in `refs` to a translation key.
 * @param {Record<string, HTMLElement>} refs
 * @param {Record<string, string>} texts
 * @param {(key: string) => string} t
 */
export function setTexts(refs, texts, t) {
  for (const [name, key] of Object.entries(texts)) setText(refs[name], t(key));
}

/**
 * Show a toast (Home Assistant's notification). A toast with an `id` replaces the one shown with
 * the same id, so repeated news of one thing (a camera's setting) does not pile up.
 * @param {Element} element
 * @param {string} message
 * @param {string} [id]
 */
export function notify(element, message, id) {
  element.dispatchEvent(
    new CustomEvent("hass-notification", { detail: id ? { message, id } : { message }, bubbles: true, composed: true }),
  );
}

/**
 * The toast id of news about `commands` of a camera (the page's own and those sent elsewhere).
 * @param {string} cameraId
 * @param {string[]} commands
 */
export function commandToastId(cameraId, commands) {
  return `${DOMAIN} ${cameraId} ${commands.join(" ")}`;
}

/** Download `blob` as `name`. @param {Blob} blob @param {string} name */
export function downloadBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

/**
 * Wait until Home Assistant's elements we use are defined (at most `timeout` ms).
 * @param {string[]} names
 * @param {number} [timeout]
 */
export function whenDefined(names, timeout = 5000) {
  return Promise.race([
    Promise.all(names.map((name) => customElements.whenDefined(name))),
    new Promise((resolve) => setTimeout(resolve, timeout)),
  ]);
}
