// @ts-check
/**
 * ESP32 Cameras: the sidebar panel and the Lovelace card `custom:esp32-camera-card`.
 *
 * Native ES modules served by the integration, no build step and no third-party code. Data comes
 * from the integration's WebSocket commands (`esp32_camera/...`), pushed by the server; nothing
 * polls. Strings come from translations/<language>.json. This module defines the elements.
 */
import { Esp32CameraCard, Esp32CameraCardEditor } from "./card.js";
import { Esp32CameraClips } from "./clips.js";
import { Esp32CameraControls } from "./controls.js";
import { Esp32CameraLive } from "./live.js";
import { Esp32CameraMotion } from "./motion.js";
import { Esp32CameraPanel } from "./panel.js";
import { Esp32CameraSaving, Esp32CameraStats } from "./sections.js";
import { Esp32CameraViewer } from "./viewer.js";
import { loadStrings, translator } from "./i18n.js";

/** @type {Record<string, CustomElementConstructor>} */
const ELEMENTS = {
  "esp32-camera-live": Esp32CameraLive,
  "esp32-camera-controls": Esp32CameraControls,
  "esp32-camera-viewer": Esp32CameraViewer,
  "esp32-camera-motion": Esp32CameraMotion,
  "esp32-camera-saving": Esp32CameraSaving,
  "esp32-camera-clips": Esp32CameraClips,
  "esp32-camera-stats": Esp32CameraStats,
  "esp32-camera-panel": Esp32CameraPanel,
  "esp32-camera-card": Esp32CameraCard,
  "esp32-camera-card-editor": Esp32CameraCardEditor,
};

function defineElements() {
  for (const [name, element] of Object.entries(ELEMENTS)) {
    if (!window.customElements.get(name)) window.customElements.define(name, element);
  }
}

// On a dashboard this module may run before Home Assistant's app, which then installs a scoped
// custom-element registry that would not know elements defined earlier: define them after it.
const scoped = /** @type {any} */ (window).CustomElementRegistryPolyfill;
if (scoped || window.customElements.get("home-assistant")) defineElements();
else window.customElements.whenDefined("home-assistant").then(defineElements);

// The card picker's entry, in the page's language (Home Assistant sets it on <html>).
const pageLanguage = () => ({ language: document.documentElement.lang || navigator.language });
loadStrings(pageLanguage()).catch(() => {});
const cards = (/** @type {any} */ (window).customCards ??= []);
if (!cards.some((/** @type {{ type: string }} */ card) => card.type === "esp32-camera-card")) {
  cards.push({
    type: "esp32-camera-card",
    get name() {
      return translator(pageLanguage())("card.picker_name");
    },
    get description() {
      return translator(pageLanguage())("card.picker_description");
    },
    preview: true,
    documentationURL: "https://github.com/esp32-camera-ha/esp32-camera-ha#panel--card",
  });
}
