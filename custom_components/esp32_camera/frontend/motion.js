// @ts-check
/**
 * Motion and recording of one camera, in the panel and the card: whether it sees motion now (or
 * detection is off) and when it last did, switches for motion detection and for recording on
 * motion, and "record a clip" with a length. The switches are Home Assistant's switch entities,
 * switched through their services (administrators only, hub/permissions.py); a clip is the
 * `esp32_camera.record` action, which any signed-in user may call.
 */
import { CSS } from "./styles.js";
import { DOMAIN, fileName, h, icon, notify, setHidden, setText } from "./util.js";
import { localeOf, translator } from "./i18n.js";

/** The record action's limits, as services.yaml has them (seconds). */
const DURATION = { min: 1, max: 300, default: 10 };
const UNSET = new Set(["unavailable", "unknown"]);

/**
 * @typedef {{ enabled: boolean, active: boolean, recording: boolean, zones: string[],
 *   lastStarted: number | null, entities: Record<string, string | null> }} MotionNow
 */

/**
 * What a camera's motion does now. The entities' states come first: Home Assistant pushes them
 * the moment they change, the camera's payload at most once a second (and it names the zones).
 * @param {import("./store.js").Hass} hass
 * @param {import("./store.js").Camera} camera
 * @returns {MotionNow}
 */
export function motionOf(hass, camera) {
  const now = camera.motion_now ?? {};
  const entities = now.entities ?? {};
  /** @param {string} key @param {boolean} fallback */
  const stateOf = (key, fallback) => {
    const state = entities[key] ? hass.states?.[entities[key]]?.state : undefined;
    return state === undefined || UNSET.has(state) ? fallback : state === "on";
  };
  const enabled = stateOf("motion_detection", Boolean(now.enabled ?? true));
  const active = enabled && stateOf("motion", Boolean(now.active));
  return {
    enabled,
    active,
    recording: stateOf("record_on_motion", Boolean(now.record_on_motion)),
    zones: active ? (now.zones ?? []) : [],
    lastStarted: now.last_started ?? null,
    entities,
  };
}

/**
 * A moment in epoch ms as `locale` writes it: the time today, else the date and time.
 * @param {number} moment
 * @param {string | undefined} locale
 */
export function formatMoment(moment, locale) {
  const date = new Date(moment);
  const today = date.toDateString() === new Date().toDateString();
  return today ? date.toLocaleTimeString(locale) : date.toLocaleString(locale, { dateStyle: "medium", timeStyle: "medium" });
}

export class Esp32CameraMotion extends HTMLElement {
  constructor() {
    super();
    this.attachShadow({ mode: "open" });
    /** @type {import("./store.js").Hass | undefined} */
    this._hass = undefined;
    /** @type {import("./store.js").Camera | undefined} */
    this.camera = undefined;
    this.recordingClip = false;
    this.duration = DURATION.default;
    this.language = "";
    const refs = (this.refs = /** @type {Record<string, any>} */ ({}));
    refs.stateIcon = icon("motion-sensor");
    refs.state = h("span", { class: "state" });
    refs.last = h("span", { class: "muted small" });
    refs.detection = h("ha-switch", { class: "motion-detection", onchange: () => this.switchEntity("motion_detection", refs.detection) });
    refs.detectionLabel = h("span");
    refs.recording = h("ha-switch", { class: "record-on-motion", onchange: () => this.switchEntity("record_on_motion", refs.recording) });
    refs.recordingLabel = h("span");
    refs.adminNote = h("div", { class: "muted small", hidden: true });
    refs.form = h("ha-form", { class: "duration", schema: [], data: { duration: DURATION.default } });
    refs.form.addEventListener("value-changed", (/** @type {CustomEvent} */ event) => {
      // A field being typed in (empty) keeps the last length; a number out of range is brought in.
      // The form shows its data (Home Assistant's controlled form): the length kept.
      const typed = event.detail.value?.duration;
      if (typed === undefined || typed === null || typed === "" || !Number.isFinite(Number(typed))) return;
      this.duration = Math.min(DURATION.max, Math.max(DURATION.min, Number(typed)));
      refs.form.data = { duration: this.duration };
    });
    refs.recordLabel = document.createTextNode("");
    refs.record = h("ha-button", { class: "record", onclick: () => this.record() }, h("ha-icon", { slot: "start", icon: "mdi:record-rec" }), refs.recordLabel);
    this.shadowRoot?.append(
      h(
        "style",
        {},
        CSS,
        `
        .now { display: flex; align-items: center; gap: 12px; min-height: 40px; }
        .now .state { font-weight: 500; }
        :host([motion]) .now ha-icon { color: var(--error-color, #db4437); }
        :host([detection-off]) .now .state { color: var(--secondary-text-color); }
        .record-row { display: flex; flex-wrap: wrap; align-items: center; gap: 8px; padding-top: 8px; }
        .record-row ha-form { flex: 1 1 140px; min-width: 120px; }
      `,
      ),
      h("div", { class: "now" }, refs.stateIcon, h("span", { class: "label" }, refs.state, h("br"), refs.last)),
      h("label", { class: "row" }, icon("motion-sensor"), h("span", { class: "label" }, refs.detectionLabel), refs.detection),
      h("label", { class: "row" }, icon("record-rec"), h("span", { class: "label" }, refs.recordingLabel), refs.recording),
      refs.adminNote,
      h("div", { class: "record-row" }, refs.form, refs.record),
    );
  }

  get t() {
    return translator(this._hass);
  }

  /**
   * @param {import("./store.js").Hass} hass
   * @param {import("./store.js").CameraStore} store
   * @param {import("./store.js").Camera} camera
   */
  show(hass, store, camera) {
    this._hass = hass;
    this.camera = camera;
    const { refs, t } = this;
    const motion = motionOf(hass, camera);
    const admin = Boolean(hass.user?.is_admin);
    this.toggleAttribute("motion", motion.active);
    this.toggleAttribute("detection-off", !motion.enabled);
    refs.stateIcon.setAttribute("icon", motion.enabled ? "mdi:motion-sensor" : "mdi:motion-sensor-off");
    setText(refs.state, !motion.enabled ? t("motion.detection_off") : motion.active ? t("motion.now") : t("motion.none"));
    setText(refs.last, motion.lastStarted ? t("motion.last", { time: formatMoment(motion.lastStarted, localeOf(hass)) }) : t("motion.never"));
    setText(refs.detectionLabel, t("motion.detection"));
    setText(refs.recordingLabel, t("motion.record_on_motion"));
    // Switching is an administrator's (hub/permissions.py); a member sees the state.
    for (const [key, element, on] of /** @type {[string, any, boolean][]} */ ([["motion_detection", refs.detection, motion.enabled], ["record_on_motion", refs.recording, motion.recording]])) {
      element.disabled = !admin || !store.online || !motion.entities[key];
      if (this.shadowRoot?.activeElement !== element) element.checked = on;
    }
    setHidden(refs.adminNote, admin);
    setText(refs.adminNote, t("motion.admin_only"));
    if (this.language !== hass.language || !refs.form.schema.length) {
      this.language = hass.language ?? "";
      refs.form.hass = hass;
      refs.form.schema = [{ name: "duration", selector: { number: { min: DURATION.min, max: DURATION.max, step: 1, mode: "box", unit_of_measurement: "s" } } }];
      refs.form.computeLabel = () => t("motion.clip_length");
    }
    const canRecord = Boolean(hass.services?.[DOMAIN]?.record) && Boolean(camera.entity_id);
    setText(refs.recordLabel, this.recordingClip ? t("motion.recording_clip") : t("motion.record"));
    refs.record.disabled = this.recordingClip || !canRecord || !store.online || !camera.connected;
    refs.record.title = canRecord ? t("motion.record_title") : t("saving.no_action");
  }

  /** Switch a motion entity through Home Assistant's switch service. @param {string} key @param {any} element */
  async switchEntity(key, element) {
    const hass = this._hass;
    const entityId = this.camera?.motion_now?.entities?.[key];
    if (!hass || !entityId) return;
    try {
      await hass.callService("switch", element.checked ? "turn_on" : "turn_off", {}, { entity_id: entityId });
    } catch (err) {
      element.checked = !element.checked;
      notify(this, this.t("motion.switch_failed", { reason: String(/** @type {any} */ (err)?.message || err) }));
    }
  }

  /** Record a clip of `duration` seconds (its pre-roll included); the toast names its file. */
  async record() {
    const hass = this._hass;
    const camera = this.camera;
    if (!hass || !camera?.entity_id || this.recordingClip) return;
    const t = this.t;
    this.recordingClip = true;
    this.refs.record.disabled = true;
    this.refs.recordLabel.textContent = t("motion.recording_clip");
    notify(this, t("motion.record_started", { camera: camera.name, seconds: this.duration }));
    try {
      const answer = await hass.callService(DOMAIN, "record", { duration: this.duration }, { entity_id: camera.entity_id }, false, true);
      const clip = answer?.response?.[camera.entity_id];
      notify(this, t("motion.recorded", { camera: camera.name, file: fileName(clip?.path) }));
    } catch (err) {
      notify(this, t("motion.record_failed", { camera: camera.name, reason: String(/** @type {any} */ (err)?.message || err) }));
    } finally {
      this.recordingClip = false;
      this.refs.record.disabled = false;
      this.refs.recordLabel.textContent = t("motion.record");
    }
  }
}
