// @ts-check
/**
 * Every control of a camera, in Home Assistant's own form elements (`ha-form`: `ha-select`,
 * `ha-slider`, `ha-switch`), built from the server's command and resolution tables: ranges,
 * choices, risks and the default resolution are never repeated here. Disabled for non-admins
 * (the server refuses them too). A slider sends one command when it settles, not one per step.
 */
import { CSS } from "./styles.js";
import { h, setTexts } from "./util.js";
import { localeOf, translator } from "./i18n.js";

/** The firmware's boot values of the image adjustments ("Reset adjustments", and what an
 * adjustment is until the camera reports otherwise). */
const ADJUSTMENT_DEFAULTS = /** @type {[string, unknown][]} */ ([
  ["brightness", 0],
  ["contrast", 0],
  ["exposure", true],
  ["gain", true],
  ["whitebalance", true],
]);
const BOOT_VALUES = Object.fromEntries([...ADJUSTMENT_DEFAULTS, ["hmirror", false], ["vflip", false]]);
const PICTURE = ["resolution", "quality", "fps", "mode"];
const IMAGE = ["hmirror", "vflip", "brightness", "contrast", "exposure", "gain", "whitebalance"];
/** A slider's value is sent once it has not moved for this long (ms): one command per change. */
const SETTLE_MS = 400;
/** A value sent is shown until the camera reports it, or for this long (ms) if it never does. */
const PENDING_MS = 10000;

/**
 * A camera's current value of setting `name`, from what the hub knows.
 * @param {import("./store.js").Camera} camera
 * @param {string} name
 * @param {number} defaultResolution
 */
function currentValue(camera, name, defaultResolution) {
  const value = camera.settings[name];
  switch (name) {
    case "resolution":
      return value ?? camera.health?.resolution ?? defaultResolution;
    case "quality":
      return value ?? camera.health?.quality ?? null;
    case "fps":
      return value ?? camera.info?.fps ?? null;
    case "mode": {
      const mode = String(value ?? camera.info?.mode ?? "").toLowerCase();
      return mode.startsWith("veloc") ? "speed" : mode || null;
    }
    default:
      return value ?? BOOT_VALUES[name];
  }
}

/**
 * Show a confirmation in Home Assistant's dialog; resolve true when confirmed.
 * @param {Element} host where the dialog is attached
 * @param {{ title: string, text: string, confirm: string, cancel: string }} texts
 * @returns {Promise<boolean>}
 */
export function confirmDialog(host, texts) {
  return new Promise((resolve) => {
    let confirmed = false;
    const dialog = h(
      "ha-dialog",
      { open: true, headerTitle: texts.title, "header-title": texts.title, class: "confirm" },
      h("p", {}, texts.text),
      h(
        "ha-dialog-footer",
        { slot: "footer" },
        h("ha-button", { slot: "secondaryAction", appearance: "plain", onclick: () => (dialog.open = false) }, texts.cancel),
        h(
          "ha-button",
          {
            slot: "primaryAction",
            variant: "danger",
            onclick: () => {
              confirmed = true;
              dialog.open = false;
            },
          },
          texts.confirm,
        ),
      ),
    );
    dialog.addEventListener("closed", () => {
      dialog.remove();
      resolve(confirmed);
    });
    (host.shadowRoot ?? host).append(dialog);
  });
}

export class Esp32CameraControls extends HTMLElement {
  constructor() {
    super();
    this.attachShadow({ mode: "open" });
    /** @type {import("./store.js").Hass | undefined} */
    this._hass = undefined;
    /** @type {import("./store.js").CameraStore | undefined} */
    this.store = undefined;
    /** @type {import("./store.js").Camera | undefined} */
    this.camera = undefined;
    /** @type {Map<string, number>} settling slider -> timer */
    this.settling = new Map();
    /** @type {Map<string, { value: unknown, since: number }>} values chosen and not yet reported back */
    this.pending = new Map();
    /** @type {Map<any, Record<string, unknown>>} form -> the values it shows */
    this.formValues = new Map();
    const refs = (this.refs = /** @type {Record<string, any>} */ ({}));
    refs.adminOnly = h("ha-alert", { alertType: "info", "alert-type": "info", hidden: true });
    refs.picture = h("ha-form", { schema: [], data: {} });
    refs.picture.addEventListener("value-changed", (/** @type {CustomEvent} */ event) => this.changed(refs.picture, event.detail.value));
    refs.risk = h("ha-alert", { alertType: "warning", "alert-type": "warning", hidden: true });
    refs.image = h("ha-form", { schema: [], data: {} });
    refs.image.addEventListener("value-changed", (/** @type {CustomEvent} */ event) => this.changed(refs.image, event.detail.value));
    refs.pictureTitle = h("div", { class: "section-title" });
    refs.imageTitle = h("div", { class: "section-title" });
    const button = (/** @type {string} */ name, /** @type {string} */ iconName, /** @type {() => void} */ action, variant = "brand") =>
      (refs[name] = h("ha-button", { class: name, appearance: "outlined", size: "s", variant, onclick: action }, h("ha-icon", { slot: "start", icon: `mdi:${iconName}` })));
    refs.buttons = h(
      "div",
      { class: "buttons" },
      button("resetResolution", "restore", () => this.chooseResolution(this.store?.defaultResolution ?? 0)),
      button("resetAdjustments", "restore", () => this.resetAdjustments()),
      button("sensorReset", "camera-retake", () => this.sendAndToast([["sensor_reset", undefined]], this.t("control.sensor_reset"))),
      button("reboot", "restart", () => this.reboot(), "danger"),
    );
    for (const name of ["resetResolution", "resetAdjustments", "sensorReset", "reboot"]) {
      refs[`${name}Label`] = document.createTextNode("");
      refs[name].append(refs[`${name}Label`]);
    }
    this.shadowRoot?.append(
      h("style", {}, CSS),
      refs.adminOnly,
      refs.pictureTitle,
      refs.picture,
      refs.risk,
      refs.imageTitle,
      refs.image,
      refs.buttons,
    );
  }

  /** @param {import("./store.js").Hass} hass */
  set hass(hass) {
    this._hass = hass;
    this.refs.picture.hass = hass;
    this.refs.image.hass = hass;
  }

  get t() {
    return translator(this._hass);
  }

  get admin() {
    return Boolean(this._hass?.user?.is_admin);
  }

  /**
   * Show `camera` with the store's tables.
   * @param {import("./store.js").CameraStore} store
   * @param {import("./store.js").Camera} camera
   * @param {{ compact?: boolean }} [options]
   */
  show(store, camera, { compact = false } = {}) {
    if (this.camera?.camera_id !== camera.camera_id) this.pending.clear();
    this.store = store;
    this.camera = camera;
    const { refs, t } = this;
    const disabled = !this.admin || !store.online;
    refs.adminOnly.hidden = this.admin;
    refs.adminOnly.textContent = t("control.admin_only");
    refs.pictureTitle.hidden = refs.imageTitle.hidden = compact;
    setTexts(refs, {
      pictureTitle: "section.picture",
      imageTitle: "section.image",
      resetResolutionLabel: "control.reset_resolution",
      resetAdjustmentsLabel: "control.reset_adjustments",
      sensorResetLabel: "control.sensor_reset",
      rebootLabel: "control.reboot",
    }, t);
    for (const name of ["resetResolution", "resetAdjustments", "sensorReset", "reboot"]) refs[name].disabled = disabled;
    const data = this.shown();
    // The forms re-render only when what they show changed (store updates come every second).
    const look = JSON.stringify([this._hass?.language, store.resolutions.length, data.mode, disabled]);
    for (const [form, names] of [[refs.picture, PICTURE], [refs.image, IMAGE]]) {
      if (form.look !== look) {
        form.look = look;
        form.schema = names.map((name) => this.schemaOf(name)).filter(Boolean);
        form.computeLabel = (/** @type {{ name: string }} */ schema) => t(`control.${schema.name}`);
        form.computeHelper = (/** @type {{ name: string }} */ schema) => this.helperOf(schema.name, data);
        form.disabled = disabled;
      }
      const values = Object.fromEntries(names.filter((name) => name in data).map((name) => [name, data[name]]));
      if (!this.settling.size && JSON.stringify(values) !== JSON.stringify(form.data)) {
        form.data = values;
        this.formValues.set(form, values);
      }
    }
    const risk = store.resolutions[Number(data.resolution)]?.risk;
    refs.risk.hidden = !risk || risk === "none";
    refs.risk.textContent = refs.risk.hidden ? "" : t(`risk.${risk}`, { name: store.resolutions[Number(data.resolution)].name });
  }

  /** What the forms show: the camera's settings, and the values chosen it has not reported yet. */
  shown() {
    const data = this.data();
    for (const [name, { value, since }] of this.pending) {
      if (data[name] === value || Date.now() - since > PENDING_MS) this.pending.delete(name);
      else data[name] = value;
    }
    return data;
  }

  /** The camera's current settings as the forms take them (resolution as text: a select's value). */
  data() {
    const camera = /** @type {import("./store.js").Camera} */ (this.camera);
    const store = /** @type {import("./store.js").CameraStore} */ (this.store);
    /** @type {Record<string, unknown>} */
    const data = {};
    for (const name of [...PICTURE, ...IMAGE]) {
      let value = currentValue(camera, name, store.defaultResolution);
      const spec = store.commands[name];
      if (spec?.type === "boolean" && typeof value === "string") value = value === "1" || value === "true";
      if (spec?.type === "integer" && value !== null && value !== undefined) value = Number(value);
      if (name === "resolution") value = String(value);
      if (value !== null && value !== undefined) data[name] = value;
    }
    return data;
  }

  /** The ha-form schema of setting `name` from the command table. @param {string} name */
  schemaOf(name) {
    const store = /** @type {import("./store.js").CameraStore} */ (this.store);
    const spec = store.commands[name];
    if (!spec) return null;
    const t = this.t;
    const locale = localeOf(this._hass);
    if (name === "resolution") {
      const options = store.resolutions.map((resolution) => ({
        value: String(resolution.index),
        label: t(resolution.risk === "none" ? "resolution.option" : "resolution.option_risk", {
          name: resolution.name,
          size: `${resolution.width.toLocaleString(locale)}×${resolution.height.toLocaleString(locale)}`,
          risk: t(`risk_level.${resolution.risk}`),
        }),
      }));
      return { name, required: true, selector: { select: { mode: "dropdown", options } } };
    }
    if (spec.type === "choice") {
      const options = (spec.choices ?? []).map((choice) => ({ value: choice, label: t(`mode.${choice}`) }));
      return { name, required: true, selector: { select: { mode: "dropdown", options } } };
    }
    if (spec.type === "boolean") return { name, selector: { boolean: {} } };
    if (spec.type === "integer") {
      return { name, selector: { number: { min: spec.min, max: spec.max, step: 1, mode: "slider" } } };
    }
    return null;
  }

  /** @param {string} name @param {Record<string, unknown>} data */
  helperOf(name, data) {
    const t = this.t;
    if (name === "quality") return t("hint.quality");
    if (name === "mode" && data.mode) return t(`hint.mode.${data.mode}`);
    return undefined;
  }

  /**
   * A form's value changed: send what the user changed there (a slider once it settles), compared
   * with what that form showed, so quick changes in a row each send their own setting once.
   * @param {any} form
   * @param {Record<string, unknown>} value
   */
  changed(form, value) {
    const store = /** @type {import("./store.js").CameraStore} */ (this.store);
    const before = this.formValues.get(form) ?? {};
    this.formValues.set(form, value);
    for (const [name, next] of Object.entries(value)) {
      if (next === before[name]) continue;
      this.pending.set(name, { value: next, since: Date.now() });
      if (name === "resolution") {
        this.chooseResolution(Number(next));
        continue;
      }
      const label = this.t("toast.setting", { setting: this.t(`control.${name}`), value: this.valueText(name, next) });
      if (store.commands[name]?.type === "integer") {
        clearTimeout(this.settling.get(name));
        this.settling.set(
          name,
          window.setTimeout(() => {
            this.settling.delete(name);
            this.sendAndToast([[name, next]], label);
          }, SETTLE_MS),
        );
      } else {
        this.sendAndToast([[name, next]], label);
      }
    }
  }

  /** @param {string} name @param {unknown} value */
  valueText(name, value) {
    if (typeof value === "boolean") return this.t(value ? "state.on" : "state.off");
    if (name === "mode") return this.t(`mode.${value}`);
    return String(value);
  }

  /** @param {[string, unknown][]} commands @param {string} label */
  async sendAndToast(commands, label) {
    const store = /** @type {import("./store.js").CameraStore} */ (this.store);
    const camera = /** @type {import("./store.js").Camera} */ (this.camera);
    const ok = await store.commandsWithToast(this, camera, commands, label, this.t);
    if (!ok && this.store && this.camera) {
      for (const [name] of commands) this.pending.delete(name);
      this.show(this.store, this.camera);
    }
    return ok;
  }

  /** @param {number} index */
  async chooseResolution(index) {
    const store = /** @type {import("./store.js").CameraStore} */ (this.store);
    const resolution = store.resolutions[index];
    const t = this.t;
    if (resolution.risk !== "none") {
      const confirmed = await confirmDialog(this, {
        title: t("dialog.resolution_title", { name: resolution.name }),
        text: t(`risk.${resolution.risk}`, { name: resolution.name }),
        confirm: t("dialog.switch"),
        cancel: t("dialog.cancel"),
      });
      if (!confirmed) {
        this.pending.delete("resolution");
        if (this.camera) this.show(store, this.camera);
        return;
      }
    }
    await this.sendAndToast([["resolution", index]], t("toast.setting", { setting: t("control.resolution"), value: resolution.name }));
  }

  resetAdjustments() {
    return this.sendAndToast(ADJUSTMENT_DEFAULTS, this.t("control.reset_adjustments"));
  }

  async reboot() {
    const t = this.t;
    const camera = /** @type {import("./store.js").Camera} */ (this.camera);
    const confirmed = await confirmDialog(this, {
      title: t("dialog.reboot_title", { camera: camera.name }),
      text: t("dialog.reboot_text"),
      confirm: t("control.reboot"),
      cancel: t("dialog.cancel"),
    });
    if (confirmed) await this.sendAndToast([["reboot", undefined]], t("control.reboot"));
  }
}
