// @ts-check
/**
 * Every control of a camera, in Home Assistant's own elements (`ha-select`, `ha-form`'s sliders,
 * `ha-switch` rows), built from the server's command and resolution tables: ranges, choices,
 * risks and the default resolution are never repeated here. Disabled for non-admins (the server
 * refuses them too). A slider sends one command when it settles, not one per step.
 *
 * A setting the camera never reports (brightness, mirror, ...) shows what its entity shows: the
 * value last set from Home Assistant, marked so, or unknown (a switch then offers off and on, as
 * Home Assistant's own assumed-state toggle does).
 */
import { CSS } from "./styles.js";
import { h, setTexts } from "./util.js";
import { translator } from "./i18n.js";

/** The firmware's boot values of the image adjustments, which "Reset adjustments" sends. */
const ADJUSTMENT_DEFAULTS = /** @type {[string, unknown][]} */ ([
  ["brightness", 0],
  ["contrast", 0],
  ["exposure", true],
  ["gain", true],
  ["whitebalance", true],
]);
const SELECTS = ["resolution", "mode"];
const PICTURE = ["quality", "fps"];
const IMAGE = ["brightness", "contrast"];
const SWITCHES = ["hmirror", "vflip", "exposure", "gain", "whitebalance"];
const SETTINGS = [...SELECTS, ...PICTURE, ...IMAGE, ...SWITCHES];
/** A slider's value is sent once it has not moved for this long (ms): one command per change. */
const SETTLE_MS = 400;
/** A value sent is shown until the camera reports it, or for this long (ms) if it never does. */
const PENDING_MS = 10000;

/**
 * A camera's value of setting `name` as the hub knows it (reported, or last set from Home
 * Assistant), or null while unknown: the hub's entities show the same.
 * @param {import("./store.js").Camera} camera
 * @param {string} name
 */
function currentValue(camera, name) {
  const value = camera.settings?.[name];
  if (value === undefined || value === null) return null;
  if (name === "mode") return String(value).toLowerCase().startsWith("veloc") ? "speed" : String(value).toLowerCase();
  return value;
}

/**
 * A frame size as its pixels: no thousands separator (1024×768, not 1,024×768).
 * @param {{ width: number, height: number }} resolution
 */
export function pixelSize(resolution) {
  return `${resolution.width}×${resolution.height}`;
}

/**
 * A setting and its value in words, for a toast: "JPEG quality", "20"; "Mirror horizontally",
 * "On"; "Resolution", "XGA 1024×768" (the camera answers "1", "7").
 * @param {import("./util.js").Translate} t
 * @param {import("./store.js").CameraStore} store
 * @param {string} name a command
 * @param {unknown} value as sent or as the camera answered
 * @returns {{ setting: string, value: string }}
 */
export function settingInWords(t, store, name, value) {
  const key = `control.${name}`;
  const setting = t(key) === key ? name : t(key);
  const text = String(value);
  if (store.commands[name]?.type === "boolean") return { setting, value: t(["1", "true", "on"].includes(text.toLowerCase()) ? "state.on" : "state.off") };
  if (name === "mode") return { setting, value: t(`mode.${text.toLowerCase().startsWith("veloc") ? "speed" : text.toLowerCase().startsWith("estab") ? "stability" : text}`) };
  const resolution = name === "resolution" ? store.resolutions[Number(text)] : undefined;
  return { setting, value: resolution ? `${resolution.name} ${pixelSize(resolution)}` : text };
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
    // Resolution and mode: Home Assistant's select, which can be neither cleared nor starred as
    // required (ha-form's select selector does one or the other).
    /** @type {Record<string, any>} */
    refs.selects = {};
    for (const name of SELECTS) {
      refs.selects[name] = h("ha-select", { class: `select-${name}` });
      refs.selects[name].addEventListener("selected", (/** @type {CustomEvent} */ event) => this.selected(name, event.detail?.value));
    }
    refs.picture = h("ha-form", { schema: [], data: {} });
    refs.picture.addEventListener("value-changed", (/** @type {CustomEvent} */ event) => this.changed(refs.picture, event.detail.value));
    refs.risk = h("ha-alert", { alertType: "warning", "alert-type": "warning", hidden: true });
    refs.image = h("ha-form", { schema: [], data: {} });
    refs.image.addEventListener("value-changed", (/** @type {CustomEvent} */ event) => this.changed(refs.image, event.detail.value));
    // On/off settings: one row each, as tall as a slider's (label, its state's origin, the switch).
    /** @type {Record<string, { row: HTMLElement, label: HTMLElement, hint: HTMLElement, toggle: any, off: any, on: any }>} */
    refs.switches = {};
    for (const name of SWITCHES) {
      const toggle = h("ha-switch", { onchange: () => this.switched(name, Boolean(toggle.checked)) });
      // Unknown: off and on, as Home Assistant shows a switch whose state it cannot read.
      const off = h("ha-icon-button", { class: "assumed-off", onclick: () => this.switched(name, false) }, h("ha-icon", { icon: "mdi:flash-off" }));
      const on = h("ha-icon-button", { class: "assumed-on", onclick: () => this.switched(name, true) }, h("ha-icon", { icon: "mdi:flash" }));
      const label = h("span");
      const hint = h("span", { class: "muted small hint" });
      const row = h("div", { class: `row switch-row switch-${name}` }, h("span", { class: "label" }, label, hint), off, on, toggle);
      refs.switches[name] = { row, label, hint, toggle, off, on };
    }
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
      h(
        "style",
        {},
        CSS,
        `
        .selects { display: grid; grid-template-columns: repeat(auto-fit, minmax(180px, 1fr)); gap: 8px 12px; margin-bottom: 16px; }
        .selects ha-select { display: block; width: 100%; }
        .switch-row { min-height: 48px; padding: 0; }
        .switch-row .hint { display: block; }
        .switch-row ha-icon-button { color: var(--secondary-text-color); }
        .switch-row ha-icon-button.active { color: var(--primary-color); }
      `,
      ),
      refs.adminOnly,
      refs.pictureTitle,
      h("div", { class: "selects" }, ...SELECTS.map((name) => refs.selects[name])),
      refs.risk,
      refs.picture,
      refs.imageTitle,
      refs.image,
      ...SWITCHES.map((name) => refs.switches[name].row),
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
    // The stock firmware refuses a sensor reset every time: offered only where the hub says so.
    refs.sensorReset.hidden = !(camera.actions ?? []).includes("sensor_reset");
    const data = this.shown();
    const lastSet = new Set(camera.settings_last_set ?? []);
    // The forms re-render only when what they show changed (store updates come every second).
    const look = JSON.stringify([this._hass?.language, store.resolutions.length, data.mode, disabled, [...lastSet].sort()]);
    for (const [form, names] of [[refs.picture, PICTURE], [refs.image, IMAGE]]) {
      if (form.look !== look) {
        form.look = look;
        form.schema = names.map((name) => this.schemaOf(name)).filter(Boolean);
        form.computeLabel = (/** @type {{ name: string }} */ schema) => t(`control.${schema.name}`);
        form.computeHelper = (/** @type {{ name: string }} */ schema) => this.helperOf(schema.name, data, lastSet);
        form.disabled = disabled;
      }
      const values = Object.fromEntries(names.filter((name) => name in data).map((name) => [name, data[name]]));
      if (!this.settling.size && JSON.stringify(values) !== JSON.stringify(form.data)) {
        form.data = values;
        this.formValues.set(form, values);
      }
    }
    this.showSelects(data, disabled);
    this.showSwitches(data, disabled, lastSet);
    const risk = store.resolutions[Number(data.resolution)]?.risk;
    refs.risk.hidden = !risk || risk === "none";
    refs.risk.textContent = refs.risk.hidden ? "" : t(`risk.${risk}`, { name: store.resolutions[Number(data.resolution)].name });
  }

  /** @param {Record<string, unknown>} data @param {boolean} disabled */
  showSelects(data, disabled) {
    const t = this.t;
    for (const name of SELECTS) {
      const select = this.refs.selects[name];
      const options = this.optionsOf(name);
      const key = JSON.stringify([this._hass?.language, options]);
      if (select.optionsKey !== key) {
        select.optionsKey = key;
        select.options = options;
      }
      select.label = t(`control.${name}`);
      select.helper = name === "mode" && data.mode ? t(`hint.mode.${data.mode}`) : "";
      select.value = name in data ? String(data[name]) : "";
      select.disabled = disabled;
    }
  }

  /** @param {Record<string, unknown>} data @param {boolean} disabled @param {Set<string>} lastSet */
  showSwitches(data, disabled, lastSet) {
    const t = this.t;
    for (const name of SWITCHES) {
      const { label, hint, toggle, off, on } = this.refs.switches[name];
      const known = name in data;
      label.textContent = t(`control.${name}`);
      hint.textContent = this.originOf(name, known, lastSet) ?? "";
      hint.hidden = !hint.textContent;
      toggle.hidden = !known;
      off.hidden = on.hidden = known;
      if (known) toggle.checked = Boolean(data[name]);
      off.label = `${t(`control.${name}`)}: ${t("state.off")}`;
      on.label = `${t(`control.${name}`)}: ${t("state.on")}`;
      for (const element of [toggle, off, on]) element.disabled = disabled;
    }
  }

  /**
   * Where a setting's value comes from, for the settings the camera never reports (else none).
   * @param {string} name @param {boolean} known @param {Set<string>} lastSet
   */
  originOf(name, known, lastSet) {
    if (lastSet.has(name)) return this.t("hint.last_set");
    if (!known && [...IMAGE, ...SWITCHES].includes(name)) return this.t("hint.unknown");
    return undefined;
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

  /** The camera's known settings as the controls take them (resolution as text: a select's value). */
  data() {
    const camera = /** @type {import("./store.js").Camera} */ (this.camera);
    const store = /** @type {import("./store.js").CameraStore} */ (this.store);
    /** @type {Record<string, unknown>} */
    const data = {};
    for (const name of SETTINGS) {
      let value = currentValue(camera, name);
      if (value === null) continue; // unknown: not reported, never set
      const spec = store.commands[name];
      if (spec?.type === "boolean" && typeof value === "string") value = value === "1" || value === "true";
      if (spec?.type === "integer") value = Number(value);
      if (name === "resolution") value = String(value);
      data[name] = value;
    }
    return data;
  }

  /** The options of select `name` from the tables. @param {string} name */
  optionsOf(name) {
    const store = /** @type {import("./store.js").CameraStore} */ (this.store);
    const t = this.t;
    if (name === "resolution") {
      return store.resolutions.map((resolution) => ({
        value: String(resolution.index),
        label: t(resolution.risk === "none" ? "resolution.option" : "resolution.option_risk", {
          name: resolution.name,
          size: pixelSize(resolution),
          risk: t(`risk_level.${resolution.risk}`),
        }),
      }));
    }
    return (store.commands[name]?.choices ?? []).map((/** @type {string} */ choice) => ({ value: choice, label: t(`mode.${choice}`) }));
  }

  /** The ha-form schema of slider `name` from the command table. @param {string} name */
  schemaOf(name) {
    const store = /** @type {import("./store.js").CameraStore} */ (this.store);
    const spec = store.commands[name];
    if (spec?.type !== "integer") return null;
    return { name, selector: { number: { min: spec.min, max: spec.max, step: 1, mode: "slider" } } };
  }

  /** @param {string} name @param {Record<string, unknown>} data @param {Set<string>} lastSet */
  helperOf(name, data, lastSet) {
    if (name === "quality") return this.t("hint.quality");
    return this.originOf(name, name in data, lastSet);
  }

  /**
   * A select's choice: sent unless it is what the select showed (a re-render, not the user).
   * @param {string} name @param {unknown} value
   */
  selected(name, value) {
    if (value === undefined || value === null || value === "") return;
    const shown = this.shown();
    if (String(shown[name] ?? "") === String(value)) return;
    this.pending.set(name, { value: String(value), since: Date.now() });
    if (name === "resolution") {
      this.chooseResolution(Number(value));
      return;
    }
    this.sendAndToast([[name, value]], this.t("toast.setting", { setting: this.t(`control.${name}`), value: this.valueText(name, value) }));
  }

  /** An on/off setting chosen (its switch, or off/on while unknown). @param {string} name @param {boolean} value */
  switched(name, value) {
    this.pending.set(name, { value, since: Date.now() });
    if (this.store && this.camera) this.show(this.store, this.camera);
    this.sendAndToast([[name, value]], this.t("toast.setting", { setting: this.t(`control.${name}`), value: this.valueText(name, value) }));
  }

  /**
   * A form's value changed: send what the user changed there (a slider once it settles), compared
   * with what that form showed, so quick changes in a row each send their own setting once.
   * @param {any} form
   * @param {Record<string, unknown>} value
   */
  changed(form, value) {
    const before = this.formValues.get(form) ?? {};
    this.formValues.set(form, value);
    for (const [name, next] of Object.entries(value)) {
      if (next === before[name] || next === undefined) continue;
      this.pending.set(name, { value: next, since: Date.now() });
      const label = this.t("toast.setting", { setting: this.t(`control.${name}`), value: this.valueText(name, next) });
      clearTimeout(this.settling.get(name));
      this.settling.set(
        name,
        window.setTimeout(() => {
          this.settling.delete(name);
          this.sendAndToast([[name, next]], label);
        }, SETTLE_MS),
      );
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
    this.pending.set("resolution", { value: String(index), since: Date.now() });
    await this.sendAndToast([["resolution", index]], t("toast.setting", { setting: t("control.resolution"), value: `${resolution.name} ${pixelSize(resolution)}` }));
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
