// @ts-check
/**
 * The panel's and the card's strings, from translations/<language>.json next to this module,
 * following the user's Home Assistant language (`hass.language`) and number/date format
 * (`hass.locale`). English is the fallback for a language without a file.
 */

/** @typedef {{ language?: string, locale?: { language?: string } }} LocaleSource */

const AVAILABLE = ["en", "es"];
/** @type {Map<string, Promise<Record<string, string>>>} */
const loading = new Map();
/** @type {Record<string, Record<string, string>>} */
const loaded = {};

/**
 * The translation file of `language` (or English), loaded once.
 * @param {string} language
 * @returns {Promise<Record<string, string>>}
 */
function load(language) {
  let promise = loading.get(language);
  if (!promise) {
    // Next to the modules, in their versioned folder: a new release is never mixed with a cached one.
    promise = fetch(new URL(`translations/${language}.json`, import.meta.url)).then((answer) => answer.json());
    loading.set(language, promise);
    promise.then((strings) => (loaded[language] = strings)).catch(() => loading.delete(language));
  }
  return promise;
}

/**
 * The language to use for `hass`: its language if translated, else English.
 * @param {LocaleSource | undefined} hass
 */
export function languageOf(hass) {
  const wanted = (hass?.locale?.language || hass?.language || "en").toLowerCase();
  const base = wanted.split("-")[0];
  return AVAILABLE.includes(wanted) ? wanted : AVAILABLE.includes(base) ? base : "en";
}

/**
 * Load the strings of `hass`'s language (and English, the fallback).
 * @param {LocaleSource | undefined} hass
 */
export async function loadStrings(hass) {
  await Promise.all([load("en"), load(languageOf(hass))]);
}

/** Whether the strings of `hass`'s language are loaded. @param {LocaleSource | undefined} hass */
export function stringsReady(hass) {
  return Boolean(loaded.en && loaded[languageOf(hass)]);
}

/**
 * A translator for `hass`'s language: `t("card.unknown", { camera: "x" })` fills `{camera}`.
 * @param {LocaleSource | undefined} hass
 * @returns {(key: string, values?: Record<string, string | number>) => string}
 */
export function translator(hass) {
  const strings = loaded[languageOf(hass)] ?? {};
  const fallback = loaded.en ?? {};
  return (key, values = {}) => {
    const text = strings[key] ?? fallback[key] ?? key;
    return text.replace(/\{(\w+)\}/g, (whole, name) =>
      name in values ? String(values[name]) : whole,
    );
  };
}

/**
 * The locale to format numbers and dates with.
 * @param {LocaleSource | undefined} hass
 */
export function localeOf(hass) {
  return hass?.locale?.language || hass?.language || undefined;
}
