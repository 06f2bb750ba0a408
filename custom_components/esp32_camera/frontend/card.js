// @ts-check
/**
 * The Lovelace card `custom:esp32-camera-card`: one camera's live view (its motion badge and lit
 * zones included), with its motion and recording, controls and statistics in expansion panels. Sized by grid options for sections views (one to four columns
 * wide, its height following its content); tap and hold run Home Assistant actions (more-info by
 * default).
 */
import { CSS } from "./styles.js";
import { CameraStore } from "./store.js";
import { DOMAIN, h, setHidden, setText } from "./util.js";
import { loadStrings, stringsReady, translator } from "./i18n.js";
import { hassChanged } from "./panel.js";

const HOLD_MS = 500;

/** @typedef {{ type: string, entity?: string, camera_id?: string, show_motion?: boolean,
 *   show_controls?: boolean, show_stats?: boolean, tap_action?: object, hold_action?: object }} CardConfig */

/** What a card shows unless configured otherwise. */
const DEFAULTS = { show_motion: true, show_controls: true, show_stats: true };

export class Esp32CameraCard extends HTMLElement {
  constructor() {
    super();
    this.attachShadow({ mode: "open" });
    /** @type {CardConfig | undefined} */
    this.config = undefined;
    /** @type {import("./store.js").Hass | undefined} */
    this._hass = undefined;
    /** @type {CameraStore | undefined} */
    this.store = undefined;
    /** @type {(() => void) | null} */
    this.stopStore = null;
    this.holdTimer = 0;
    this.held = false;
    // Its picture streams MJPEG while the page has a stream to spare (stream.js). The page never
    // sees such a stream's frames, so no card has a latency chip (the panel's video has one).
    this.viewer = h("esp32-camera-viewer", { mjpeg: true, "no-latency": true });
    this.motion = h("esp32-camera-motion");
    this.controls = h("esp32-camera-controls");
    this.stats = h("esp32-camera-stats");
    this.message = h("ha-alert", { alertType: "warning", "alert-type": "warning", hidden: true });
    this.motionBox = h("ha-expansion-panel", { outlined: false, class: "section motion-section" }, this.motion);
    this.controlsBox = h("ha-expansion-panel", { outlined: false, class: "section" }, this.controls);
    this.statsBox = h("ha-expansion-panel", { outlined: false, class: "section" }, this.stats);
    this.shadowRoot?.append(
      h(
        "style",
        {},
        CSS,
        `
        ha-card { overflow: hidden; container-type: inline-size; }
        ha-expansion-panel.section { display: block; border-top: 1px solid var(--divider-color); --expansion-panel-content-padding: 0 12px 12px; }
        ha-alert { margin: 12px; }
        esp32-camera-viewer { --video-max-height: 60vh; cursor: pointer; }
      `,
      ),
      h("ha-card", {}, this.message, this.viewer, this.motionBox, this.controlsBox, this.statsBox),
    );
    this.viewer.hidden = true;
    // Tap and hold on the picture run the configured actions (more-info unless configured).
    this.viewer.addEventListener("pointerdown", (/** @type {PointerEvent} */ event) => {
      if (!this.onPicture(event)) return;
      this.held = false;
      this.holdTimer = window.setTimeout(() => {
        this.held = true;
        this.action("hold");
      }, HOLD_MS);
    });
    for (const name of ["pointerup", "pointercancel", "pointerleave"]) this.viewer.addEventListener(name, () => clearTimeout(this.holdTimer));
    this.viewer.addEventListener("click", (/** @type {MouseEvent} */ event) => {
      if (this.onPicture(event) && !this.held) this.action("tap");
    });
  }

  /** Whether the event is on the picture (not its tools or chips). @param {Event} event */
  onPicture(event) {
    return event.composedPath().some((element) => /** @type {Element} */ (element).classList?.contains("frame"));
  }

  /** Run the tap or hold action through Home Assistant. @param {"tap" | "hold"} action */
  action(action) {
    if (!this.config) return;
    const config = { tap_action: { action: "more-info" }, hold_action: { action: "none" }, ...this.config };
    this.dispatchEvent(new CustomEvent("hass-action", { detail: { config, action }, bubbles: true, composed: true }));
  }

  static getConfigElement() {
    return document.createElement("esp32-camera-card-editor");
  }

  /** The picker's preview: the first ESP32 camera. @param {import("./store.js").Hass} hass */
  static getStubConfig(hass) {
    const cameras = Object.keys(hass.states).filter((id) => id.startsWith("camera.") && hass.entities?.[id]?.platform === DOMAIN);
    return { type: "custom:esp32-camera-card", entity: cameras[0] ?? "", show_motion: true, show_controls: true, show_stats: false };
  }

  /** @param {CardConfig} config */
  setConfig(config) {
    if (!config.entity && !config.camera_id) throw new Error("entity");
    this.config = { ...DEFAULTS, ...config };
    this.render();
  }

  getCardSize() {
    return 6;
  }

  /** Sections view: full width by default, from a quarter; the height follows the content. */
  getGridOptions() {
    return { columns: 12, rows: "auto", min_columns: 3, min_rows: 3 };
  }

  /** @param {import("./store.js").Hass} hass */
  set hass(hass) {
    const previous = this._hass;
    this._hass = hass;
    this.controls.hass = hass;
    if (!previous && this.isConnected) this.start();
    else if (previous?.language !== hass.language) loadStrings(hass).then(() => this.render());
    else if (this.store?.loaded && hassChanged(previous, hass, this.store.cameras)) this.render();
  }

  connectedCallback() {
    if (this._hass) this.start();
  }

  disconnectedCallback() {
    this.stopStore?.();
    this.stopStore = null;
  }

  start() {
    if (this.stopStore || !this._hass) return;
    const hass = this._hass;
    this.store = CameraStore.for(hass);
    this.stopStore = this.store.listen(() => this.render());
    loadStrings(hass).then(() => this.render());
  }

  render() {
    const hass = this._hass;
    if (!this.config || !this.store?.loaded || !hass || !stringsReady(hass)) return;
    const t = translator(hass);
    const { entity, camera_id: cameraId } = this.config;
    const camera = this.store.cameras.find((item) => (cameraId ? item.camera_id === cameraId : item.entity_id === entity));
    // Rendered at every push of the statistics (each second): unchanged writes would restyle.
    setHidden(this.message, Boolean(camera));
    setHidden(this.viewer, !camera);
    setHidden(this.motionBox, !camera || !this.config.show_motion);
    setHidden(this.controlsBox, !camera || !this.config.show_controls);
    setHidden(this.statsBox, !camera || !this.config.show_stats);
    this.motionBox.header = t("panel.motion");
    this.controlsBox.header = t("panel.controls");
    this.statsBox.header = t("panel.stats");
    if (!camera) {
      setText(this.message, t("card.unknown", { camera: cameraId ?? entity ?? "" }));
      return;
    }
    this.viewer.show(hass, camera, this.store);
    if (this.config.show_motion) this.motion.show(hass, this.store, camera);
    if (this.config.show_controls) this.controls.show(this.store, camera, { compact: true });
    if (this.config.show_stats) this.stats.show(hass, this.store, camera, { server: false });
  }
}

/** The card's editor: Home Assistant's form with an entity picker of ESP32 cameras and actions. */
export class Esp32CameraCardEditor extends HTMLElement {
  constructor() {
    super();
    this.attachShadow({ mode: "open" });
    /** @type {CardConfig | undefined} */
    this.config = undefined;
    /** @type {import("./store.js").Hass | undefined} */
    this._hass = undefined;
    this.form = h("ha-form", { schema: [], data: {} });
    this.form.addEventListener("value-changed", (/** @type {CustomEvent} */ event) => {
      event.stopPropagation();
      this.config = { ...this.config, ...event.detail.value };
      this.dispatchEvent(new CustomEvent("config-changed", { detail: { config: this.config }, bubbles: true, composed: true }));
    });
    this.shadowRoot?.append(this.form);
  }

  /** @param {CardConfig} config */
  setConfig(config) {
    this.config = { ...DEFAULTS, ...config };
    this.render();
  }

  /** @param {import("./store.js").Hass} hass */
  set hass(hass) {
    const first = !this._hass;
    this._hass = hass;
    this.form.hass = hass;
    if (first) loadStrings(hass).then(() => this.render());
  }

  render() {
    const hass = this._hass;
    if (!this.config || !hass || !stringsReady(hass)) return;
    const t = translator(hass);
    this.form.schema = [
      { name: "entity", required: true, selector: { entity: { domain: "camera", integration: DOMAIN } } },
      { name: "show_motion", selector: { boolean: {} } },
      { name: "show_controls", selector: { boolean: {} } },
      { name: "show_stats", selector: { boolean: {} } },
      { name: "tap_action", selector: { ui_action: { default_action: "more-info" } } },
      { name: "hold_action", selector: { ui_action: { default_action: "none" } } },
    ];
    this.form.computeLabel = (/** @type {{ name: string }} */ schema) => t(`editor.${schema.name}`);
    this.form.data = this.config;
  }
}
