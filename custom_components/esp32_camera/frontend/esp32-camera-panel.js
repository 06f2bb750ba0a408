/*
 * ESP32 Cameras: the sidebar panel and the Lovelace card `custom:esp32-camera-card`.
 *
 * One ES module, no build step and no third-party code: it runs offline. Data comes from the
 * integration's WebSocket commands (`esp32_camera/...`), pushed by the server; nothing polls.
 * The grid's frames arrive over the one Home Assistant WebSocket (base64 JPEG, acknowledged one
 * by one so the server never queues more than a few per browser); the selected camera's video
 * is Home Assistant's authenticated MJPEG stream of its camera entity.
 */

const DOMAIN = "esp32_camera";
const GRID_FPS_FEW = 10; // grid frame rate per camera up to four cameras
const GRID_FPS_MANY = 4; // and above
const LATENCY_GOOD_MS = 100;
const LATENCY_FAIR_MS = 200;
const DEFAULT_RESOLUTION = 7; // XGA, the firmware's boot default
const RISK_WARNINGS = {
  high: "FHD (1920x1080) is a high-risk frame size for the OV3660: frames are often corrupt and the frame rate drops.",
  critical:
    "QXGA (2048x1536) is a critical-risk frame size: the sensor can hang until the camera is rebooted.",
};
const MODE_HINTS = {
  speed: "Speed: short pauses and large chunks; the highest frame rate on a good Wi-Fi signal.",
  stability: "Stability: paced chunks; fewer broken frames on a weak Wi-Fi signal, lower frame rate.",
};
const ADJUSTMENT_DEFAULTS = [
  ["brightness", 0],
  ["contrast", 0],
  ["exposure", true],
  ["gain", true],
  ["whitebalance", true],
];

// --- small helpers ----------------------------------------------------------------------------

/** Create an element: h("div", {class: "x", onclick: fn}, child, "text"). */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else if (key in element && typeof value !== "string") element[key] = value;
    else element.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

const icon = (name) => h("ha-icon", { icon: `mdi:${name}` });

function formatBytes(bytes) {
  if (bytes === null || bytes === undefined) return "–";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

function formatDuration(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(seconds)) return "–";
  const total = Math.max(0, Math.floor(seconds));
  const days = Math.floor(total / 86400);
  const hours = Math.floor((total % 86400) / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const secs = total % 60;
  if (days) return `${days}d ${hours}h ${minutes}m`;
  if (hours) return `${hours}h ${minutes}m ${secs}s`;
  if (minutes) return `${minutes}m ${secs}s`;
  return `${secs}s`;
}

const formatNumber = (value, digits = 0) =>
  value === null || value === undefined ? "–" : Number(value).toFixed(digits);

function formatTime(iso) {
  if (!iso) return "–";
  return new Date(iso).toLocaleString();
}

/** A local date "YYYY-MM-DD" as the browser's locale writes it, e.g. "Wed, Mar 4". */
function formatDate(date) {
  return new Date(`${date}T00:00:00`).toLocaleDateString(undefined, {
    weekday: "short",
    month: "short",
    day: "numeric",
  });
}

function notify(element, message) {
  element.dispatchEvent(
    new CustomEvent("hass-notification", { detail: { message }, bubbles: true, composed: true }),
  );
}

function modeKey(camera) {
  const mode = (camera.settings.mode || camera.info?.mode || "").toLowerCase();
  if (mode.startsWith("veloc") || mode === "speed") return "speed";
  return "stability";
}

function settingNumber(camera, name, fallback) {
  const value = camera.settings[name];
  if (value !== undefined && value !== null && value !== "") return Number(value);
  return fallback;
}

function resolutionIndex(camera) {
  return settingNumber(camera, "resolution", camera.health?.resolution ?? DEFAULT_RESOLUTION);
}

function streamUrl(hass, camera) {
  const state = camera.entity_id ? hass.states[camera.entity_id] : undefined;
  const token = state?.attributes?.access_token;
  if (!token) return null;
  return `/api/camera_proxy_stream/${camera.entity_id}?token=${encodeURIComponent(token)}`;
}

/** Whether a new `hass` changes what is shown: the user, the actions, or a camera entity (its token). */
function hassChanged(previous, hass, cameras) {
  return (
    !previous ||
    previous.user !== hass.user ||
    previous.services !== hass.services ||
    cameras.some((camera) => camera.entity_id && previous.states[camera.entity_id] !== hass.states[camera.entity_id])
  );
}

function downloadBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

// --- shared data: one store per Home Assistant connection --------------------------------------

/**
 * Cameras and live statistics, shared by the panel and every card on a page. Statistics come
 * from one `esp32_camera/subscribe` subscription, opened while someone listens.
 */
class CameraStore {
  static for(hass) {
    CameraStore.stores ??= new WeakMap();
    let store = CameraStore.stores.get(hass.connection);
    if (!store) {
      store = new CameraStore(hass.connection);
      CameraStore.stores.set(hass.connection, store);
    }
    return store;
  }

  constructor(connection) {
    this.connection = connection;
    this.cameras = [];
    this.hubs = [];
    this.resolutions = [];
    this.clockOffset = 0; // hub clock minus browser clock, in ms
    this.listeners = new Set();
    this.unsubscribe = null;
    this.loaded = false;
    this.sent = new Map(); // "camera command" -> when this page sent it
  }

  camera(cameraId) {
    return this.cameras.find((camera) => camera.camera_id === cameraId);
  }

  listen(listener) {
    this.listeners.add(listener);
    if (this.listeners.size === 1) {
      this.load();
      this.unsubscribe = this.connection.subscribeMessage((event) => this.update(event), {
        type: `${DOMAIN}/subscribe`,
      });
      this.unsubscribe.catch((err) => console.error("esp32_camera/subscribe failed", err));
    } else if (this.loaded) {
      listener(this);
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && this.unsubscribe) {
        this.unsubscribe.then((unsubscribe) => unsubscribe()).catch(() => {});
        this.unsubscribe = null;
      }
    };
  }

  /** Load the tables and estimate the clock offset from the answer's time and round trip. */
  async load() {
    const sent = Date.now();
    const result = await this.connection.sendMessagePromise({ type: `${DOMAIN}/cameras` });
    const received = Date.now();
    this.clockOffset = result.now - (sent + received) / 2;
    this.resolutions = result.resolutions;
    this.update(result);
  }

  update(payload) {
    this.cameras = payload.cameras;
    this.hubs = payload.hubs;
    this.loaded = this.resolutions.length > 0;
    if (!this.loaded) return;
    for (const listener of this.listeners) listener(this);
  }

  /** Whether this page sent `command` to the camera in the last few seconds (its toast is shown). */
  sentRecently(cameraId, command) {
    return Date.now() - (this.sent.get(`${cameraId} ${command}`) ?? 0) < 10000;
  }

  async command(element, camera, command, value, label) {
    this.sent.set(`${camera.camera_id} ${command}`, Date.now());
    try {
      const message = { type: `${DOMAIN}/command`, camera_id: camera.camera_id, command };
      if (value !== undefined) message.value = value;
      const result = await this.connection.sendMessagePromise(message);
      const outcome = result.queued
        ? "queued until the camera reconnects"
        : result.value
          ? `camera answered "${result.value}"`
          : "done";
      notify(element, `${camera.name}: ${label}: ${outcome}`);
      return true;
    } catch (err) {
      notify(element, `${camera.name}: ${label} failed: ${err.message || err.code || err}`);
      return false;
    }
  }

  async setSaver(element, camera, enabled) {
    try {
      await this.connection.sendMessagePromise({
        type: `${DOMAIN}/saver`,
        camera_id: camera.camera_id,
        enabled,
      });
      notify(element, `${camera.name}: continuous saving ${enabled ? "on" : "off"}`);
    } catch (err) {
      notify(element, `${camera.name}: continuous saving failed: ${err.message || err}`);
    }
  }

  async saveNow(element, hass, camera) {
    try {
      const answer = await hass.callService(
        DOMAIN,
        "snapshot",
        {},
        { entity_id: camera.entity_id },
        false,
        true,
      );
      const saved = answer?.response?.[camera.entity_id];
      notify(element, `${camera.name}: saved ${saved?.path ?? "a snapshot"}`);
      return saved;
    } catch (err) {
      notify(element, `${camera.name}: save failed: ${err.message || err}`);
      return null;
    }
  }
}

// --- styles -----------------------------------------------------------------------------------

const SHARED_CSS = `
  :host {
    display: block;
    color: var(--primary-text-color);
    font-family: var(--ha-font-family-body, Roboto, Noto, sans-serif);
    -webkit-font-smoothing: antialiased;
  }
  .card {
    background: var(--ha-card-background, var(--card-background-color, #fff));
    border-radius: var(--ha-card-border-radius, 12px);
    border: var(--ha-card-border-width, 1px) solid var(--ha-card-border-color, var(--divider-color, #e0e0e0));
    box-shadow: var(--ha-card-box-shadow, none);
    overflow: hidden;
  }
  .card-header {
    display: flex; align-items: center; gap: 8px;
    padding: 12px 16px 4px;
    font-size: var(--ha-card-header-font-size, 20px);
    line-height: 32px;
  }
  .card-header .grow { flex: 1; }
  .card-content { padding: 8px 16px 16px; }
  .muted { color: var(--secondary-text-color); }
  .small { font-size: 12px; }
  .row {
    display: flex; align-items: center; gap: 12px;
    min-height: 40px; padding: 4px 0;
  }
  .row > .label { flex: 1; min-width: 0; }
  .row > .value { color: var(--secondary-text-color); font-variant-numeric: tabular-nums; }
  .row ha-icon { color: var(--state-icon-color, var(--secondary-text-color)); --mdc-icon-size: 24px; }
  .hint { font-size: 12px; color: var(--secondary-text-color); margin: -2px 0 6px 36px; }
  .warning { color: var(--warning-color, #ffa600); }
  .section-title {
    font-size: 14px; font-weight: 500; color: var(--secondary-text-color);
    margin: 12px 0 4px; text-transform: none;
  }
  select {
    font: inherit; color: var(--primary-text-color);
    background: var(--input-fill-color, var(--secondary-background-color, #f5f5f5));
    border: none; border-bottom: 1px solid var(--input-idle-line-color, var(--divider-color));
    border-radius: 4px 4px 0 0; padding: 8px 10px; max-width: 60%;
  }
  input[type="range"] { accent-color: var(--primary-color); width: 100%; margin: 0; }
  .slider { display: flex; align-items: center; gap: 8px; width: 55%; }
  .slider output { min-width: 2.5em; text-align: right; color: var(--secondary-text-color); font-variant-numeric: tabular-nums; }
  input.switch {
    appearance: none; -webkit-appearance: none; margin: 0 4px;
    width: 36px; height: 14px; border-radius: 7px; position: relative; cursor: pointer;
    background: var(--switch-unchecked-track-color, var(--disabled-text-color, #bdbdbd));
    transition: background 0.2s;
  }
  input.switch::before {
    content: ""; position: absolute; top: -3px; left: -4px; width: 20px; height: 20px;
    border-radius: 50%; transition: left 0.2s, background 0.2s;
    background: var(--switch-unchecked-button-color, #fafafa);
    box-shadow: 0 1px 3px rgba(0, 0, 0, 0.4);
  }
  input.switch:checked { background: var(--switch-checked-track-color, var(--primary-color)); opacity: 0.9; }
  input.switch:checked::before { left: 20px; background: var(--switch-checked-button-color, var(--primary-color)); }
  input:disabled, select:disabled, button:disabled { opacity: 0.5; cursor: default; }
  button.btn {
    font: inherit; font-size: 14px; font-weight: 500; cursor: pointer;
    color: var(--primary-color); background: transparent;
    border: 1px solid var(--divider-color); border-radius: 18px; padding: 6px 14px;
    display: inline-flex; align-items: center; gap: 6px;
  }
  button.btn ha-icon { --mdc-icon-size: 18px; }
  button.btn.filled { background: var(--primary-color); color: var(--text-primary-color, #fff); border-color: transparent; }
  button.btn.danger { color: var(--error-color, #db4437); }
  button.btn:hover:not(:disabled) { background: rgba(var(--rgb-primary-color, 3, 169, 244), 0.08); }
  button.btn.filled:hover:not(:disabled) { filter: brightness(1.1); background: var(--primary-color); }
  .buttons { display: flex; flex-wrap: wrap; gap: 8px; padding: 8px 0 0; }
  button.icon {
    width: 40px; height: 40px; border-radius: 50%; border: none; cursor: pointer;
    background: transparent; color: inherit; display: inline-flex; align-items: center; justify-content: center;
  }
  button.icon:hover { background: rgba(127, 127, 127, 0.15); }
  button.icon.active { color: var(--primary-color); }
  .stats { display: grid; grid-template-columns: repeat(auto-fill, minmax(130px, 1fr)); gap: 8px; }
  .stat { background: var(--secondary-background-color, #f5f5f5); border-radius: 8px; padding: 8px 10px; }
  .stat .name { font-size: 12px; color: var(--secondary-text-color); }
  .stat .number { font-size: 16px; font-variant-numeric: tabular-nums; margin-top: 2px; overflow-wrap: anywhere; }
  .chip {
    display: inline-flex; align-items: center; gap: 4px; border-radius: 12px; padding: 2px 10px;
    font-size: 13px; background: var(--secondary-background-color, #f0f0f0); white-space: nowrap;
  }
  .dot { width: 8px; height: 8px; border-radius: 50%; background: var(--disabled-text-color, #9e9e9e); }
  .dot.on { background: var(--success-color, #43a047); }
  .latency { display: inline-flex; align-items: center; gap: 6px; }
  .latency .bar { width: 48px; height: 6px; border-radius: 3px; background: var(--divider-color); overflow: hidden; }
  .latency .bar > div { height: 100%; width: 0; transition: width 0.3s, background 0.3s; }
  .good { background: var(--success-color, #43a047); }
  .fair { background: var(--warning-color, #ffa600); }
  .poor { background: var(--error-color, #db4437); }
  .video {
    position: relative; background: #000; display: flex; align-items: center; justify-content: center;
    aspect-ratio: 4 / 3; overflow: hidden;
  }
  .video img, .video canvas { max-width: 100%; max-height: 100%; object-fit: contain; display: block; }
  .video .overlay {
    position: absolute; inset: 0; display: flex; align-items: center; justify-content: center;
    color: #fff; background: rgba(0, 0, 0, 0.55); font-size: 16px; text-align: center; padding: 16px;
  }
  .video .badge {
    position: absolute; top: 8px; left: 8px; padding: 2px 8px; border-radius: 4px;
    background: rgba(0, 0, 0, 0.6); color: #fff; font-size: 12px;
  }
  [hidden] { display: none !important; }
`;

// --- controls (shared by the panel and the card) ----------------------------------------------

/** Every control of the original dashboard for one camera; disabled for non-admin users. */
class Esp32CameraControls extends HTMLElement {
  constructor() {
    super();
    this.attachShadow({ mode: "open" });
    this.cameraId = null;
    this.refs = {};
  }

  set hass(hass) {
    this._hass = hass;
  }

  /** Show `camera` (a payload of esp32_camera/cameras) with the store's tables. */
  show(store, camera, { compact = false } = {}) {
    this.store = store;
    this.camera = camera;
    if (this.cameraId !== camera.camera_id || this.compact !== compact || !this.built) {
      this.cameraId = camera.camera_id;
      this.compact = compact;
      this.build();
    }
    this.refresh();
  }

  get admin() {
    return Boolean(this._hass?.user?.is_admin);
  }

  send(command, value, label) {
    return this.store.command(this, this.camera, command, value, label);
  }

  build() {
    const refs = (this.refs = {});
    const disabled = !this.admin;
    const slider = (name, label, iconName, min, max, hint) => {
      const input = h("input", {
        type: "range",
        min,
        max,
        step: 1,
        disabled,
        "aria-label": label,
        oninput: () => (refs[`${name}Out`].value = input.value),
        onchange: () => this.send(name, Number(input.value), `${label} ${input.value}`),
      });
      refs[name] = input;
      refs[`${name}Out`] = h("output");
      return [
        h(
          "div",
          { class: "row" },
          icon(iconName),
          h("span", { class: "label" }, label),
          h("div", { class: "slider" }, input, refs[`${name}Out`]),
        ),
        hint ? h("div", { class: "hint" }, hint) : null,
      ];
    };
    const toggle = (name, label, iconName) => {
      const input = h("input", {
        type: "checkbox",
        class: "switch",
        disabled,
        "aria-label": label,
        onchange: () => this.send(name, input.checked, `${label} ${input.checked ? "on" : "off"}`),
      });
      refs[name] = input;
      return h("label", { class: "row" }, icon(iconName), h("span", { class: "label" }, label), input);
    };

    refs.resolution = h("select", {
      disabled,
      "aria-label": "Resolution",
      onchange: () => this.chooseResolution(Number(refs.resolution.value)),
    });
    for (const resolution of this.store.resolutions) {
      const risk = resolution.risk === "none" ? "" : ` – ${resolution.risk} risk`;
      refs.resolution.append(
        h(
          "option",
          { value: String(resolution.index) },
          `${resolution.name} ${resolution.width}×${resolution.height}${risk}`,
        ),
      );
    }
    refs.mode = h(
      "select",
      {
        disabled,
        "aria-label": "Mode",
        onchange: () => this.send("mode", refs.mode.value, `Mode ${refs.mode.value}`),
      },
      h("option", { value: "speed" }, "Speed"),
      h("option", { value: "stability" }, "Stability"),
    );
    refs.modeHint = h("div", { class: "hint" });
    refs.riskHint = h("div", { class: "hint warning" });

    const picture = [
      h(
        "div",
        { class: "row" },
        icon("image-size-select-large"),
        h("span", { class: "label" }, "Resolution"),
        refs.resolution,
      ),
      refs.riskHint,
      ...slider("quality", "JPEG quality", "quality-high", 5, 63, "Lower is better (larger frames)."),
      ...slider("fps", "Frame rate", "speedometer", 1, 30),
      h("div", { class: "row" }, icon("tune-variant"), h("span", { class: "label" }, "Mode"), refs.mode),
      refs.modeHint,
    ];
    const image = [
      toggle("hmirror", "Mirror horizontally", "flip-horizontal"),
      toggle("vflip", "Flip vertically", "flip-vertical"),
      ...slider("brightness", "Brightness", "brightness-6", -2, 2),
      ...slider("contrast", "Contrast", "contrast-box", -2, 2),
      toggle("exposure", "Automatic exposure", "camera-iris"),
      toggle("gain", "Automatic gain", "tune"),
      toggle("whitebalance", "Automatic white balance", "white-balance-auto"),
    ];
    const buttons = h(
      "div",
      { class: "buttons" },
      h(
        "button",
        { class: "btn", disabled, onclick: () => this.chooseResolution(DEFAULT_RESOLUTION) },
        icon("restore"),
        "Reset resolution",
      ),
      h("button", { class: "btn", disabled, onclick: () => this.resetAdjustments() }, icon("restore"), "Reset adjustments"),
      h(
        "button",
        { class: "btn", disabled, onclick: () => this.send("sensor_reset", undefined, "Reset sensor") },
        icon("camera-retake"),
        "Reset sensor",
      ),
      h("button", { class: "btn danger", disabled, onclick: () => this.reboot() }, icon("restart"), "Reboot"),
    );
    const children = [
      h("style", {}, SHARED_CSS, ":host{display:block}"),
      disabled
        ? h("div", { class: "hint", style: "margin:0 0 8px" }, "Only administrators can change cameras.")
        : null,
      this.compact ? null : h("div", { class: "section-title" }, "Picture"),
      ...picture,
      this.compact ? null : h("div", { class: "section-title" }, "Image"),
      ...image,
      buttons,
    ];
    this.shadowRoot.replaceChildren(...children.filter(Boolean));
    this.built = true;
  }

  refresh() {
    const { refs, camera } = this;
    const active = this.shadowRoot.activeElement;
    const setValue = (name, value) => {
      if (refs[name] !== active) refs[name].value = String(value);
      if (refs[`${name}Out`]) refs[`${name}Out`].value = refs[name].value;
    };
    setValue("resolution", resolutionIndex(camera));
    setValue("quality", settingNumber(camera, "quality", camera.health?.quality ?? 12));
    setValue("fps", settingNumber(camera, "fps", camera.info?.fps ?? 20));
    setValue("brightness", settingNumber(camera, "brightness", 0));
    setValue("contrast", settingNumber(camera, "contrast", 0));
    const mode = modeKey(camera);
    setValue("mode", mode);
    refs.modeHint.textContent = MODE_HINTS[mode];
    const defaults = { hmirror: false, vflip: false, exposure: true, gain: true, whitebalance: true };
    for (const [name, fallback] of Object.entries(defaults)) {
      const value = camera.settings[name];
      if (refs[name] !== active) refs[name].checked = value === undefined ? fallback : value === "1";
    }
    const risk = this.store.resolutions[resolutionIndex(camera)]?.risk;
    refs.riskHint.textContent = RISK_WARNINGS[risk] ?? "";
    refs.riskHint.hidden = !RISK_WARNINGS[risk];
  }

  async chooseResolution(index) {
    const resolution = this.store.resolutions[index];
    const warning = RISK_WARNINGS[resolution.risk];
    if (warning && !(await confirmDialog(this, `Switch to ${resolution.name}?`, warning, "Switch"))) {
      this.refresh();
      return;
    }
    await this.send("resolution", index, `Resolution ${resolution.name}`);
  }

  async resetAdjustments() {
    for (const [name, value] of ADJUSTMENT_DEFAULTS) {
      if (!(await this.send(name, value, `Reset ${name}`))) return;
    }
  }

  async reboot() {
    const text = "The camera restarts and is away for a few seconds; its settings are re-applied when it returns.";
    if (await confirmDialog(this, `Reboot ${this.camera.name}?`, text, "Reboot")) {
      await this.send("reboot", undefined, "Reboot");
    }
  }
}

/** A modal confirmation in Home Assistant's dialog style; resolves true when confirmed. */
function confirmDialog(host, title, text, confirmLabel) {
  return new Promise((resolve) => {
    const dialog = h(
      "dialog",
      { class: "confirm" },
      h("style", {}, `
        dialog.confirm { border: none; border-radius: var(--ha-dialog-border-radius, 24px); padding: 24px;
          max-width: min(420px, 90vw); background: var(--mdc-theme-surface, var(--card-background-color, #fff));
          color: var(--primary-text-color); box-shadow: 0 8px 32px rgba(0,0,0,.35); }
        dialog.confirm::backdrop { background: rgba(0, 0, 0, 0.4); }
        dialog.confirm h2 { margin: 0 0 12px; font-size: 22px; font-weight: 400; }
        dialog.confirm p { margin: 0 0 20px; color: var(--secondary-text-color); line-height: 1.5; }
        dialog.confirm .actions { display: flex; justify-content: flex-end; gap: 8px; }
        dialog.confirm button { font: inherit; font-weight: 500; border: none; border-radius: 20px; padding: 8px 16px;
          cursor: pointer; background: transparent; color: var(--primary-color); }
        dialog.confirm button.confirm { background: var(--error-color, #db4437); color: #fff; }
      `),
      h("h2", {}, title),
      h("p", {}, text),
      h(
        "div",
        { class: "actions" },
        h("button", { value: "cancel", onclick: () => dialog.close("cancel") }, "Cancel"),
        h("button", { class: "confirm", onclick: () => dialog.close("confirm") }, confirmLabel),
      ),
    );
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue === "confirm");
    });
    host.shadowRoot.append(dialog);
    dialog.showModal();
  });
}

// --- the live view of one camera (header, video, capture, freeze, zoom, fullscreen) -------------

class Esp32CameraViewer extends HTMLElement {
  constructor() {
    super();
    this.attachShadow({ mode: "open" });
    this.frozen = false;
    this.zoomed = false;
    this.latency = null;
    this.streamSource = null;
    const refs = (this.refs = {});
    refs.name = h("span", { class: "grow" });
    refs.dot = h("span", { class: "dot" });
    refs.state = h("span");
    refs.address = h("span", { class: "chip" }, icon("ip-network"), h("span"));
    refs.fps = h("span", { class: "chip" }, icon("speedometer"), h("span"));
    refs.latencyBar = h("div");
    refs.latencyText = h("span");
    refs.latency = h(
      "span",
      {
        class: "chip latency",
        title: "From a grid frame's arrival at Home Assistant to its display in the grid (not the video)",
      },
      icon("timer-outline"),
      refs.latencyText,
      h("span", { class: "bar" }, refs.latencyBar),
    );
    refs.img = h("img", {
      alt: "",
      onerror: () => this.restartStream(),
      onload: () => (refs.waiting.hidden = true),
    });
    refs.canvas = h("canvas", { hidden: true });
    refs.waiting = h("div", { class: "overlay" }, "Waiting for video…");
    refs.offline = h("div", { class: "overlay", hidden: true }, "Camera disconnected");
    refs.frozenBadge = h("div", { class: "badge", hidden: true }, "Frozen");
    refs.video = h("div", { class: "video" }, refs.img, refs.canvas, refs.waiting, refs.offline, refs.frozenBadge);
    const tool = (name, title, action) =>
      (refs[`tool_${name}`] = h("button", { class: "icon", title, "aria-label": title, onclick: action }, icon(name)));
    refs.toolbar = h(
      "div",
      { class: "tools" },
      tool("camera", "Capture (c)", () => this.capture()),
      tool("pause", "Freeze frame (space)", () => this.toggleFreeze()),
      tool("magnify-plus-outline", "Zoom 100 %", () => this.toggleZoom()),
      tool("fullscreen", "Fullscreen (f)", () => this.toggleFullscreen()),
    );
    refs.stage = h("div", { class: "stage" }, refs.video, refs.toolbar);
    this.shadowRoot.append(
      h(
        "style",
        {},
        SHARED_CSS,
        `
        .head { display: flex; flex-wrap: wrap; align-items: center; gap: 8px; padding: 12px 16px; }
        .head .title { display: flex; align-items: center; gap: 8px; font-size: 20px; flex: 1 1 200px; min-width: 0; }
        .head .title .grow { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
        .head .state { font-size: 14px; color: var(--secondary-text-color); white-space: nowrap; }
        .chips { display: flex; flex-wrap: wrap; gap: 6px; }
        .chip ha-icon { --mdc-icon-size: 16px; color: var(--secondary-text-color); }
        .stage { position: relative; }
        .tools { display: flex; justify-content: flex-end; gap: 4px; padding: 4px 8px; color: var(--secondary-text-color); }
        .video.zoomed { display: block; overflow: auto; max-height: 75vh; aspect-ratio: auto; }
        .video.zoomed img, .video.zoomed canvas { max-width: none; max-height: none; }
        .stage:fullscreen { background: #000; display: flex; flex-direction: column; }
        .stage:fullscreen .video { flex: 1; aspect-ratio: auto; }
        .stage:fullscreen .tools { color: #fff; }
        :host([no-latency]) .latency { display: none; }
      `,
      ),
      h(
        "div",
        { class: "head" },
        h("div", { class: "title" }, refs.name, h("span", { class: "state" }, refs.dot, " ", refs.state)),
        h("div", { class: "chips" }, refs.address, refs.fps, refs.latency),
      ),
      refs.stage,
    );
    this.durationTimer = null;
  }

  connectedCallback() {
    this.durationTimer = setInterval(() => this.renderDuration(), 1000); // local clock text only
  }

  disconnectedCallback() {
    clearInterval(this.durationTimer);
    this.refs.img.removeAttribute("src"); // closes the MJPEG connection
    this.streamSource = null;
  }

  show(hass, camera) {
    this._hass = hass;
    const changed = this.camera?.camera_id !== camera.camera_id;
    this.camera = camera;
    const { refs } = this;
    if (changed) {
      this.latency = null;
      this.setFrozen(false);
      refs.waiting.hidden = false;
    }
    refs.name.textContent = camera.name;
    refs.name.title = camera.camera_id;
    refs.dot.className = `dot ${camera.connected ? "on" : ""}`;
    refs.address.lastChild.textContent = camera.health?.ip || camera.address;
    refs.fps.lastChild.textContent = `${formatNumber(camera.stats.fps, 1)} fps`;
    refs.offline.hidden = camera.connected;
    if (refs.img.naturalWidth) refs.waiting.hidden = true;
    this.renderDuration();
    this.renderLatency();
    if (changed || !this.streamSource) this.restartStream();
  }

  restartStream() {
    if (!this.camera || !this._hass || this.frozen) return;
    const url = streamUrl(this._hass, this.camera);
    if (!url) return;
    clearTimeout(this.retry);
    if (this.streamSource === url && this.refs.img.complete && this.refs.img.naturalWidth) return;
    if (this.streamSource === url) {
      // The stream failed: retry after a pause with a fresh token, not in a tight loop.
      this.streamSource = null;
      this.retry = setTimeout(() => this.restartStream(), 3000);
      return;
    }
    this.streamSource = url;
    this.refs.img.src = url;
  }

  renderDuration() {
    const camera = this.camera;
    if (!camera) return;
    const since = camera.connected_since;
    this.refs.state.textContent = camera.connected
      ? `Connected ${formatDuration((Date.now() + (this.clockOffset ?? 0) - since) / 1000)}`
      : "Disconnected";
  }

  /** Record the measured latency of one displayed frame of this camera (ms). */
  reportLatency(milliseconds) {
    this.latency = this.latency === null ? milliseconds : this.latency * 0.8 + milliseconds * 0.2;
    this.renderLatency();
  }

  renderLatency() {
    const { latencyText, latencyBar } = this.refs;
    if (this.latency === null) {
      latencyText.textContent = "– ms";
      latencyBar.style.width = "0";
      return;
    }
    const value = Math.max(0, this.latency);
    latencyText.textContent = `${Math.round(value)} ms`;
    latencyBar.style.width = `${Math.min(100, (value / (LATENCY_FAIR_MS * 1.5)) * 100)}%`;
    latencyBar.className = value < LATENCY_GOOD_MS ? "good" : value < LATENCY_FAIR_MS ? "fair" : "poor";
  }

  /** Copy the current picture to the canvas (same origin, so it can be saved). */
  snapshotCanvas() {
    const { img, canvas } = this.refs;
    if (this.frozen) return canvas;
    if (!img.naturalWidth) return null;
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    canvas.getContext("2d").drawImage(img, 0, 0);
    return canvas;
  }

  capture() {
    const canvas = this.snapshotCanvas();
    if (!canvas) {
      notify(this, "No picture to capture yet");
      return;
    }
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    canvas.toBlob((blob) => downloadBlob(blob, `${this.camera.camera_id}_${stamp}.jpg`), "image/jpeg", 0.95);
    notify(this, `${this.camera.name}: picture downloaded`);
  }

  setFrozen(frozen) {
    const { img, canvas, frozenBadge } = this.refs;
    if (frozen && !this.snapshotCanvas()) return;
    this.frozen = frozen;
    canvas.hidden = !frozen;
    img.hidden = frozen;
    frozenBadge.hidden = !frozen;
    this.refs.tool_pause.classList.toggle("active", frozen);
    this.refs.tool_pause.firstChild.setAttribute("icon", frozen ? "mdi:play" : "mdi:pause");
  }

  toggleFreeze() {
    this.setFrozen(!this.frozen);
  }

  toggleZoom() {
    this.zoomed = !this.zoomed;
    this.refs.video.classList.toggle("zoomed", this.zoomed);
    this.refs["tool_magnify-plus-outline"].classList.toggle("active", this.zoomed);
  }

  toggleFullscreen() {
    if (this.shadowRoot.fullscreenElement || document.fullscreenElement) {
      document.exitFullscreen?.();
    } else {
      this.refs.stage.requestFullscreen?.().catch(() => {});
    }
  }

  leave() {
    if (document.fullscreenElement) document.exitFullscreen?.();
    if (this.zoomed) this.toggleZoom();
  }
}

// --- saving and stats sections -----------------------------------------------------------------

class Esp32CameraSaving extends HTMLElement {
  constructor() {
    super();
    this.attachShadow({ mode: "open" });
    this.galleryTotal = null;
    this.galleryAt = 0;
    this.countsDate = null; // the date whose hours are shown
    const refs = (this.refs = {});
    refs.switch = h("input", {
      type: "checkbox",
      class: "switch",
      "aria-label": "Continuous saving",
      onchange: () => this.store.setSaver(this, this.camera, refs.switch.checked),
    });
    refs.status = h("span", { class: "muted small" });
    refs.saveNow = h("button", { class: "btn filled", onclick: () => this.saveNow() }, icon("content-save"), "Save now");
    refs.total = h("div", { class: "number" });
    refs.today = h("div", { class: "number" });
    refs.size = h("div", { class: "number" });
    refs.last = h("div", { class: "number small" });
    refs.gallery = h("div", { class: "gallery" });
    refs.empty = h("div", { class: "muted small" }, "No saved images yet.");
    // Saved images per day (newest first) and per hour of the chosen day, like the original's
    // image statistics; the gallery command counts them (no files are read for this).
    refs.days = h("div", { class: "days" });
    refs.hoursTitle = h("div", { class: "name" });
    refs.hours = h("div", { class: "hours", role: "img" });
    refs.counts = h(
      "div",
      { class: "counts", hidden: true },
      h("div", { class: "section-title" }, "Saved per day"),
      refs.days,
      h(
        "div",
        { class: "stat", style: "margin-top:8px" },
        refs.hoursTitle,
        refs.hours,
        h("div", { class: "hour-axis" }, ...["00", "06", "12", "18"].map((hour) => h("span", {}, `${hour}:00`))),
      ),
    );
    const stat = (name, value) => h("div", { class: "stat" }, h("div", { class: "name" }, name), value);
    this.shadowRoot.append(
      h(
        "style",
        {},
        SHARED_CSS,
        `
        .gallery { display: grid; grid-template-columns: repeat(auto-fill, minmax(88px, 1fr)); gap: 6px; margin-top: 8px; }
        .gallery a { display: block; aspect-ratio: 4 / 3; border-radius: 6px; overflow: hidden; background: var(--secondary-background-color); }
        .gallery img { width: 100%; height: 100%; object-fit: cover; display: block; }
        .stat.wide { grid-column: 1 / -1; }
        .stats.three { grid-template-columns: repeat(3, minmax(0, 1fr)); }
        .days { display: flex; flex-direction: column; gap: 2px; }
        button.day {
          display: grid; grid-template-columns: minmax(6.5em, auto) 1fr minmax(3.5em, auto); align-items: center; gap: 10px;
          font: inherit; font-size: 13px; color: var(--primary-text-color); text-align: left;
          background: transparent; border: none; border-radius: 6px; padding: 4px 8px; cursor: pointer;
        }
        button.day:hover { background: rgba(var(--rgb-primary-color, 3, 169, 244), 0.08); }
        button.day.selected { background: rgba(var(--rgb-primary-color, 3, 169, 244), 0.16); }
        .day .bar { height: 6px; border-radius: 3px; background: var(--secondary-background-color, #f0f0f0); overflow: hidden; }
        .day .bar > span { display: block; height: 100%; background: var(--primary-color); border-radius: 3px; }
        .day .count { text-align: right; color: var(--secondary-text-color); font-variant-numeric: tabular-nums; }
        .hours { display: grid; grid-template-columns: repeat(24, minmax(0, 1fr)); gap: 2px; align-items: end; height: 44px; margin-top: 6px; }
        .hours > div { height: 100%; display: flex; align-items: flex-end; border-radius: 2px; background: var(--divider-color, rgba(127, 127, 127, 0.2)); }
        .hours > div > span { display: block; width: 100%; border-radius: 2px; background: var(--primary-color); }
        .hour-axis { display: grid; grid-template-columns: repeat(4, 1fr); font-size: 11px; color: var(--secondary-text-color); margin-top: 2px; }
      `,
      ),
      h(
        "label",
        { class: "row" },
        icon("content-save-all"),
        h("span", { class: "label" }, "Continuous saving (every frame)", h("br"), refs.status),
        refs.switch,
      ),
      h("div", { class: "stats three" }, stat("Saved", refs.total), stat("Today", refs.today), stat("Size", refs.size)),
      h("div", { class: "stats", style: "margin-top:8px" }, h("div", { class: "stat wide" }, h("div", { class: "name" }, "Last saved"), refs.last)),
      h("div", { class: "buttons" }, refs.saveNow),
      refs.counts,
      h("div", { class: "section-title" }, "Saved images and snapshots"),
      refs.empty,
      refs.gallery,
    );
  }

  show(hass, store, camera) {
    const changed = this.camera?.camera_id !== camera.camera_id;
    this._hass = hass;
    this.store = store;
    this.camera = camera;
    const { refs } = this;
    const saver = camera.saver;
    const admin = Boolean(hass.user?.is_admin);
    const hub = store.hubs.find((item) => item.entry_id === camera.entry_id);
    refs.switch.disabled = !admin || hub?.saver.state === "error";
    if (this.shadowRoot.activeElement !== refs.switch) refs.switch.checked = saver.enabled;
    refs.status.textContent = hub?.saver.error
      ? hub.saver.error
      : saver.enabled
        ? `On${saver.dropped ? `, ${saver.dropped} frames dropped (disk too slow)` : ""}`
        : "Off";
    const canSnapshot = Boolean(hass.services?.[DOMAIN]?.snapshot) && Boolean(camera.entity_id);
    refs.saveNow.disabled = !admin || !canSnapshot;
    refs.saveNow.title = canSnapshot ? "Save the current frame (s)" : "The snapshot action is not available";
    refs.total.textContent = saver.saved_total.toLocaleString();
    refs.today.textContent = saver.saved_today.toLocaleString();
    refs.size.textContent = formatBytes(saver.saved_bytes);
    refs.last.textContent = saver.last_saved_path
      ? `${saver.last_saved_path.split("/").slice(-3).join("/")} · ${formatTime(saver.last_saved_at)}`
      : "–";
    // The gallery follows new saves, at most every 5 s.
    if (changed || (saver.saved_total !== this.galleryTotal && Date.now() - this.galleryAt > 5000)) {
      this.galleryTotal = saver.saved_total;
      this.loadGallery();
    }
  }

  async loadGallery() {
    this.galleryAt = Date.now();
    const cameraId = this.camera.camera_id;
    try {
      const { images, counts } = await this._hass.connection.sendMessagePromise({
        type: `${DOMAIN}/gallery`,
        camera_id: cameraId,
        limit: 12,
      });
      if (cameraId !== this.camera.camera_id) return;
      this.counts = counts;
      this.renderCounts();
      this.refs.empty.hidden = images.length > 0;
      this.refs.gallery.replaceChildren(
        ...images.map((image) =>
          h(
            "a",
            { href: image.url, target: "_blank", rel: "noopener", title: `${image.name}\n${formatTime(image.saved_at)}` },
            h("img", { src: image.url, decoding: "async", alt: image.name }),
          ),
        ),
      );
    } catch (err) {
      this.refs.empty.hidden = false;
      this.refs.empty.textContent = `Cannot list saved images: ${err.message || err}`;
    }
  }

  /** Saved images per day (the newest seven) and per hour of the chosen day. */
  renderCounts() {
    const { refs } = this;
    const days = Object.entries(this.counts?.by_date ?? {}).slice(0, 7); // newest first
    const hourly = this.counts?.by_hour ?? {};
    refs.counts.hidden = days.length === 0;
    if (!days.length) return;
    if (!(this.countsDate in hourly)) this.countsDate = Object.keys(hourly)[0];
    const most = Math.max(...days.map(([, count]) => count));
    refs.days.replaceChildren(
      ...days.map(([date, count]) =>
        h(
          "button",
          {
            class: `day${date === this.countsDate ? " selected" : ""}`,
            title: `${formatDate(date)}: ${count.toLocaleString()} images; show per hour`,
            onclick: () => {
              this.countsDate = date;
              this.renderCounts();
            },
          },
          h("span", {}, formatDate(date)),
          h("span", { class: "bar" }, h("span", { style: `width:${(count / most) * 100}%` })),
          h("span", { class: "count" }, count.toLocaleString()),
        ),
      ),
    );
    const hours = hourly[this.countsDate] ?? {};
    const peak = Math.max(1, ...Object.values(hours));
    refs.hoursTitle.textContent = `Per hour, ${formatDate(this.countsDate)}`;
    refs.hours.setAttribute("aria-label", `Saved images per hour, ${formatDate(this.countsDate)}`);
    refs.hours.replaceChildren(
      ...Array.from({ length: 24 }, (_, index) => {
        const hour = String(index).padStart(2, "0");
        const count = hours[hour] ?? 0;
        return h(
          "div",
          { title: `${hour}:00–${hour}:59: ${count.toLocaleString()} images` },
          h("span", { style: `height:${(count / peak) * 100}%` }),
        );
      }),
    );
  }

  async saveNow() {
    if (this.refs.saveNow.disabled) return;
    const saved = await this.store.saveNow(this, this._hass, this.camera);
    if (saved) this.loadGallery();
  }
}

class Esp32CameraStats extends HTMLElement {
  constructor() {
    super();
    this.attachShadow({ mode: "open" });
    this.values = {};
    this.cameraGrid = h("div", { class: "stats" });
    this.serverGrid = h("div", { class: "stats" });
    this.serverTitle = h("div", { class: "section-title" }, "Server");
    this.shadowRoot.append(
      h("style", {}, SHARED_CSS),
      h("div", { class: "section-title", style: "margin-top:0" }, "Camera"),
      this.cameraGrid,
      this.serverTitle,
      this.serverGrid,
    );
  }

  fill(grid, rows) {
    if (grid.childElementCount !== rows.length) {
      grid.replaceChildren(
        ...rows.map(([name]) => h("div", { class: "stat" }, h("div", { class: "name" }, name), h("div", { class: "number" }))),
      );
    }
    rows.forEach(([, value], index) => {
      grid.children[index].lastChild.textContent = value;
    });
  }

  show(store, camera, { server = true } = {}) {
    const health = camera.health ?? {};
    const stats = camera.stats;
    const rssi = health.rssi;
    this.fill(this.cameraGrid, [
      ["Model", health.model ?? "–"],
      ["Frames sent", formatNumber(health.frames)],
      ["Dropped by camera", formatNumber(health.dropped)],
      ["Free heap", formatBytes(health.heap)],
      ["Minimum free heap", formatBytes(health.min_heap)],
      ["Uptime", formatDuration(health.uptime)],
      ["Wi-Fi signal", rssi === null || rssi === undefined ? "–" : `${rssi} dBm`],
      ["Resolution", health.resolution_text ?? (stats.width ? `${stats.width}×${stats.height}` : "–")],
      ["Frames received", stats.frames_received.toLocaleString()],
      ["Frames failed", stats.frames_failed.toLocaleString()],
      ["Data received", formatBytes(stats.bytes_received)],
      ["Bitrate", `${formatNumber(stats.bitrate / 1e6, 2)} Mbit/s`],
      ["Last frame", formatBytes(stats.last_frame_size)],
      ["Reconnects", formatNumber(camera.reconnects)],
      ["Queued commands", formatNumber(Object.keys(camera.queued_commands ?? {}).length)],
      ["Firmware", camera.firmware ?? "–"],
    ]);
    this.serverTitle.hidden = this.serverGrid.hidden = !server;
    if (!server) return;
    const hub = store.hubs.find((item) => item.entry_id === camera.entry_id);
    const hubStats = hub?.stats ?? {};
    this.fill(this.serverGrid, [
      ["Hub", hub?.title ?? "–"],
      ["Cameras connected", formatNumber(hubStats.connected_cameras)],
      ["Frames received", formatNumber(hubStats.frames_received)],
      ["Frames failed", formatNumber(hubStats.frames_failed)],
      ["Data received", formatBytes(hubStats.bytes_received)],
      ["Server fps", formatNumber(hubStats.fps, 1)],
      ["Browsers (grid)", formatNumber(hub?.frame_subscribers)],
      ["Listening for", formatDuration(hubStats.uptime)],
    ]);
  }
}

// --- the panel --------------------------------------------------------------------------------

class Esp32CameraPanel extends HTMLElement {
  constructor() {
    super();
    this.attachShadow({ mode: "open" });
    this.selected = null;
    this.tiles = new Map();
    this.onKeyDown = (event) => this.handleKey(event);
    const refs = (this.refs = {});
    refs.menu = h(
      "button",
      {
        class: "icon menu",
        title: "Sidebar",
        "aria-label": "Sidebar",
        onclick: () =>
          this.dispatchEvent(new CustomEvent("hass-toggle-menu", { bubbles: true, composed: true })),
      },
      icon("menu"),
    );
    refs.summary = h("div", { class: "summary" });
    refs.grid = h("div", { class: "grid" });
    refs.gridCount = h("span", { class: "muted small" });
    refs.empty = h(
      "div",
      { class: "card empty", hidden: true },
      h("div", { class: "card-content" }, h("h2", {}, "No cameras yet"), h("p", { class: "muted" },
        "Point an ESP32 camera at this Home Assistant (see the integration's documentation); it appears here when it connects.")),
    );
    refs.viewer = h("esp32-camera-viewer");
    refs.controls = h("esp32-camera-controls");
    refs.saving = h("esp32-camera-saving");
    refs.stats = h("esp32-camera-stats");
    const card = (title, iconName, body, extra) =>
      h("div", { class: "card" }, h("div", { class: "card-header" }, icon(iconName), h("span", { class: "grow" }, title), extra), h("div", { class: "card-content" }, body));
    refs.refresh = h("button", { class: "icon", title: "Refresh stats (r)", "aria-label": "Refresh", onclick: () => this.refreshStats() }, icon("refresh"));
    refs.main = h(
      "div",
      { class: "main", hidden: true },
      h("div", { class: "card gridcard" }, h("div", { class: "card-header" }, icon("view-grid"), h("span", { class: "grow" }, "All cameras"), refs.gridCount), h("div", { class: "card-content" }, refs.grid)),
      h(
        "div",
        { class: "columns" },
        h(
          "div",
          { class: "col wide" },
          h("div", { class: "card viewer" }, refs.viewer),
          h("div", { class: "statscard" }, card("Camera health & server", "chart-box-outline", refs.stats, refs.refresh)),
        ),
        h("div", { class: "col" }, card("Controls", "tune", refs.controls), card("Image saving", "content-save-all", refs.saving)),
      ),
    );
    this.shadowRoot.append(
      h(
        "style",
        {},
        SHARED_CSS,
        `
        :host { background: var(--primary-background-color); min-height: 100vh; }
        .toolbar {
          display: flex; align-items: center; gap: 8px; height: var(--header-height, 56px); box-sizing: border-box;
          padding: 0 16px; font-size: 20px; position: sticky; top: 0; z-index: 2;
          background: var(--app-header-background-color, var(--primary-color));
          color: var(--app-header-text-color, var(--text-primary-color, #fff));
          border-bottom: var(--app-header-border-bottom, none);
        }
        .toolbar .title { flex: 1; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
        .toolbar .summary { font-size: 14px; opacity: 0.9; white-space: nowrap; }
        .menu { margin-left: -8px; }
        :host(:not([narrow])) .menu { display: none; }
        .content { padding: 16px; max-width: 1600px; margin: 0 auto; display: flex; flex-direction: column; gap: 16px; }
        .main { display: flex; flex-direction: column; gap: 16px; }
        .columns { display: grid; grid-template-columns: minmax(0, 1.7fr) minmax(320px, 1fr); gap: 16px; align-items: start; }
        .col { display: flex; flex-direction: column; gap: 16px; min-width: 0; }
        .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 8px; }
        .tile {
          position: relative; border-radius: 8px; overflow: hidden; cursor: pointer; background: #000;
          aspect-ratio: 4 / 3; border: 2px solid transparent; padding: 0; font: inherit; color: #fff;
        }
        .tile.selected { border-color: var(--primary-color); }
        .tile img { width: 100%; height: 100%; object-fit: cover; display: block; }
        .tile .caption {
          position: absolute; left: 0; right: 0; bottom: 0; display: flex; align-items: center; gap: 6px;
          padding: 4px 8px; font-size: 12px; text-align: left;
          background: linear-gradient(transparent, rgba(0, 0, 0, 0.7));
        }
        .tile .caption .name { flex: 1; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
        .tile.offline img { opacity: 0.35; }
        .empty h2 { font-weight: 400; margin: 8px 0; }
        :host([narrow]) .content { padding: 8px; gap: 8px; }
        :host([narrow]) .main { gap: 8px; }
        :host([narrow]) .toolbar { padding: 0 8px 0 4px; }
        :host([narrow]) .menu { margin-left: 0; }
        :host([narrow]) .grid { grid-template-columns: repeat(2, minmax(0, 1fr)); }
        /* One column: the video, then the controls, saving, and the statistics last. */
        @media (max-width: 1000px) {
          .columns { grid-template-columns: minmax(0, 1fr); }
          .col { display: contents; }
          .statscard { order: 1; }
        }
        :host([narrow]) .columns { grid-template-columns: minmax(0, 1fr); gap: 8px; }
        :host([narrow]) .col { display: contents; }
        :host([narrow]) .statscard { order: 1; }
      `,
      ),
      h("div", { class: "toolbar" }, refs.menu, h("div", { class: "title" }, "ESP32 Cameras"), refs.summary),
      h("div", { class: "content" }, refs.empty, refs.main),
    );
  }

  set narrow(narrow) {
    this.toggleAttribute("narrow", Boolean(narrow));
  }

  set panel(panel) {
    this._panel = panel;
  }

  set route(route) {
    this._route = route;
  }

  set hass(hass) {
    const previous = this._hass;
    this._hass = hass;
    for (const element of [this.refs.controls, this.refs.saving]) element.hass = hass;
    if (!previous && this.isConnected) this.start();
    else if (this.store?.loaded && hassChanged(previous, hass, this.store.cameras)) this.render();
  }

  connectedCallback() {
    // Capture phase on window: before Home Assistant's own shortcuts (c opens its quick bar).
    window.addEventListener("keydown", this.onKeyDown, true);
    if (this._hass) this.start();
  }

  disconnectedCallback() {
    window.removeEventListener("keydown", this.onKeyDown, true);
    this.stop();
  }

  start() {
    if (this.stopStore) return;
    this.store = CameraStore.for(this._hass);
    this.stopStore = this.store.listen(() => this.render());
    this.subscribeFrames();
  }

  stop() {
    this.stopStore?.();
    this.stopStore = null;
    this.stopFrames?.then((unsubscribe) => unsubscribe()).catch(() => {});
    this.stopFrames = null;
    this.frameKey = null;
    this.frameGeneration = (this.frameGeneration ?? 0) + 1;
  }

  /**
   * One subscription carries every grid tile's frames; each displayed frame is acknowledged.
   * It follows the hubs loaded when it starts: renewed when they change (a hub reloaded).
   */
  subscribeFrames(count = 0, hubs = "") {
    const rate = count > 4 ? GRID_FPS_MANY : GRID_FPS_FEW;
    const key = `${rate} ${hubs}`;
    if (this.frameKey === key) return;
    this.stopFrames?.then((unsubscribe) => unsubscribe()).catch(() => {});
    this.frameKey = key;
    // Frames of a replaced subscription still decoding must not be acknowledged: it is gone.
    const generation = (this.frameGeneration = (this.frameGeneration ?? 0) + 1);
    this.stopFrames = this._hass.connection.subscribeMessage((frame) => this.showFrame(frame, generation), {
      type: `${DOMAIN}/subscribe_frames`,
      max_fps: rate,
    });
    this.stopFrames.catch((err) => console.error("esp32_camera/subscribe_frames failed", err));
  }

  showFrame(frame, generation) {
    const acknowledge = () => {
      if (generation !== this.frameGeneration) return;
      this._hass.connection.sendMessage({ type: `${DOMAIN}/frames_ack`, subscription: frame.subscription });
    };
    const tile = this.tiles.get(frame.camera_id);
    if (!tile) {
      acknowledge();
      return;
    }
    const img = tile.img;
    img.src = `data:image/jpeg;base64,${frame.jpeg}`;
    img
      .decode()
      .catch(() => {})
      .then(() =>
        requestAnimationFrame(() => {
          acknowledge();
          tile.shown = (tile.shown ?? 0) + 1;
          tile.button.dataset.frames = String(tile.shown);
          if (frame.camera_id === this.selected && frame.arrived) {
            this.refs.viewer.reportLatency(Date.now() + this.store.clockOffset - frame.arrived);
          }
        }),
      );
  }

  tile(camera) {
    let tile = this.tiles.get(camera.camera_id);
    if (!tile) {
      const img = h("img", { alt: camera.name });
      const name = h("span", { class: "name" });
      const dot = h("span", { class: "dot" });
      const fps = h("span");
      const button = h(
        "button",
        { class: "tile", "data-camera": camera.camera_id, title: camera.camera_id, onclick: () => this.select(camera.camera_id) },
        img,
        h("span", { class: "caption" }, dot, name, fps),
      );
      tile = { img, name, dot, fps, button };
      this.tiles.set(camera.camera_id, tile);
    }
    tile.name.textContent = camera.name;
    tile.dot.className = `dot ${camera.connected ? "on" : ""}`;
    tile.fps.textContent = camera.connected ? `${formatNumber(camera.stats.fps, 0)} fps` : "offline";
    tile.button.classList.toggle("offline", !camera.connected);
    tile.button.classList.toggle("selected", camera.camera_id === this.selected);
    return tile;
  }

  /** Toast the cameras' answers to commands sent from elsewhere (this page toasts its own). */
  toastForeignResponses(cameras) {
    this.responses ??= new Map();
    for (const camera of cameras) {
      const response = camera.last_response;
      const text = JSON.stringify(response);
      const previous = this.responses.get(camera.camera_id);
      this.responses.set(camera.camera_id, text);
      if (previous === undefined || previous === text || !response) continue;
      if (this.store.sentRecently(camera.camera_id, response.command)) continue;
      const outcome = response.ok ? "ok" : "failed";
      notify(this, `${camera.name}: ${response.command} ${outcome}${response.value ? ` (${response.value})` : ""}`);
    }
  }

  select(cameraId) {
    this.selected = cameraId;
    this.render();
  }

  render() {
    const { store, refs } = this;
    if (!store?.loaded || !this._hass) return;
    const cameras = store.cameras;
    refs.empty.hidden = cameras.length > 0;
    refs.main.hidden = cameras.length === 0;
    const connected = cameras.filter((camera) => camera.connected).length;
    const fps = store.hubs.reduce((sum, hub) => sum + (hub.stats.fps || 0), 0);
    refs.summary.textContent = `${connected}/${cameras.length} online · ${formatNumber(fps, 1)} fps`;
    refs.gridCount.textContent = `${cameras.length}`;
    this.subscribeFrames(cameras.length, store.hubs.map((hub) => `${hub.entry_id}@${hub.started_at}`).join());
    if (!cameras.length) return;
    if (!store.camera(this.selected)) this.selected = cameras[0].camera_id;
    const tiles = cameras.map((camera) => this.tile(camera).button);
    if (tiles.some((button, index) => refs.grid.children[index] !== button) || refs.grid.childElementCount !== tiles.length) {
      refs.grid.replaceChildren(...tiles);
    }
    this.toastForeignResponses(cameras);
    const camera = store.camera(this.selected);
    refs.viewer.clockOffset = store.clockOffset;
    refs.viewer.show(this._hass, camera);
    refs.controls.show(store, camera);
    refs.saving.show(this._hass, store, camera);
    refs.stats.show(store, camera);
  }

  refreshStats() {
    const camera = this.store?.camera(this.selected);
    this.store?.load();
    if (camera) {
      this.refs.saving.loadGallery();
      if (this._hass.user?.is_admin && camera.connected) this.store.command(this, camera, "stats", undefined, "Stats requested");
    }
  }

  handleKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey || !this.store?.loaded || !this.selected) return;
    const path = event.composedPath();
    if (path.some((element) => /DIALOG|QUICK-BAR/.test(element.tagName ?? ""))) return;
    const target = path[0];
    const tag = target?.tagName;
    const typing =
      target?.isContentEditable ||
      tag === "TEXTAREA" ||
      tag === "SELECT" ||
      (tag === "INPUT" && !["checkbox", "range"].includes(target.type));
    // Space and Enter keep their meaning on focused buttons and switches.
    if (typing || ((tag === "INPUT" || tag === "BUTTON") && [" ", "Enter"].includes(event.key))) return;
    const viewer = this.refs.viewer;
    const actions = {
      f: () => viewer.toggleFullscreen(),
      " ": () => viewer.toggleFreeze(),
      c: () => viewer.capture(),
      s: () => this.refs.saving.saveNow(),
      r: () => this.refreshStats(),
      Escape: () => viewer.leave(),
    };
    const action = actions[event.key.length === 1 ? event.key.toLowerCase() : event.key];
    if (!action || (event.key === "Escape" && !viewer.zoomed && !document.fullscreenElement)) return;
    event.preventDefault();
    event.stopPropagation();
    action();
  }
}

// --- the Lovelace card ------------------------------------------------------------------------

class Esp32CameraCard extends HTMLElement {
  constructor() {
    super();
    this.attachShadow({ mode: "open" });
    this.viewer = h("esp32-camera-viewer", { "no-latency": true }); // no frame feed here
    this.controls = h("esp32-camera-controls");
    this.stats = h("esp32-camera-stats");
    this.message = h("div", { class: "card-content muted" }, "Loading…");
    this.controlsBox = h("details", { class: "section" }, h("summary", {}, "Controls"), this.controls);
    this.statsBox = h("details", { class: "section" }, h("summary", {}, "Stats"), this.stats);
    this.shadowRoot.append(
      h(
        "style",
        {},
        SHARED_CSS,
        `
        ha-card { height: 100%; box-sizing: border-box; overflow: hidden; }
        details.section { padding: 0 16px; border-top: 1px solid var(--divider-color); }
        details.section > summary { cursor: pointer; padding: 12px 0; font-weight: 500; list-style-position: inside; }
        details.section[open] { padding-bottom: 12px; }
      `,
      ),
      h("ha-card", {}, this.message, this.viewer, this.controlsBox, this.statsBox),
    );
    this.viewer.hidden = true;
  }

  static getConfigElement() {
    return document.createElement("esp32-camera-card-editor");
  }

  static getStubConfig(hass) {
    const cameras = Object.keys(hass.states).filter((id) => id.startsWith("camera.") && hass.entities?.[id]?.platform === DOMAIN);
    return { type: "custom:esp32-camera-card", entity: cameras[0] ?? "", show_controls: true, show_stats: true };
  }

  setConfig(config) {
    if (!config.entity && !config.camera_id) throw new Error("Choose an ESP32 camera (entity)");
    this.config = { show_controls: true, show_stats: true, ...config };
    this.render();
  }

  getCardSize() {
    return 6;
  }

  getGridOptions() {
    return { columns: 12, rows: 6, min_columns: 6, min_rows: 4 };
  }

  set hass(hass) {
    const previous = this._hass;
    this._hass = hass;
    this.controls.hass = hass;
    if (!previous && this.isConnected) this.start();
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
    if (this.stopStore) return;
    this.store = CameraStore.for(this._hass);
    this.stopStore = this.store.listen(() => this.render());
  }

  render() {
    if (!this.config || !this.store?.loaded || !this._hass) return;
    const { entity, camera_id: cameraId } = this.config;
    const camera = this.store.cameras.find((item) => (cameraId ? item.camera_id === cameraId : item.entity_id === entity));
    this.message.hidden = Boolean(camera);
    this.viewer.hidden = !camera;
    this.controlsBox.hidden = !camera || !this.config.show_controls;
    this.statsBox.hidden = !camera || !this.config.show_stats;
    if (!camera) {
      this.message.textContent = `No ESP32 camera ${cameraId ?? entity} is known.`;
      return;
    }
    this.viewer.clockOffset = this.store.clockOffset;
    this.viewer.show(this._hass, camera);
    if (this.config.show_controls) this.controls.show(this.store, camera, { compact: true });
    if (this.config.show_stats) this.stats.show(this.store, camera, { server: false });
  }
}

class Esp32CameraCardEditor extends HTMLElement {
  constructor() {
    super();
    this.attachShadow({ mode: "open" });
    this.select = h("select", { "aria-label": "Camera", onchange: () => this.changed({ entity: this.select.value }) });
    this.showControls = h("input", { type: "checkbox", class: "switch", onchange: () => this.changed({ show_controls: this.showControls.checked }) });
    this.showStats = h("input", { type: "checkbox", class: "switch", onchange: () => this.changed({ show_stats: this.showStats.checked }) });
    this.shadowRoot.append(
      h("style", {}, SHARED_CSS, "select{max-width:70%}"),
      h("label", { class: "row" }, icon("cctv"), h("span", { class: "label" }, "Camera"), this.select),
      h("label", { class: "row" }, icon("tune"), h("span", { class: "label" }, "Show controls"), this.showControls),
      h("label", { class: "row" }, icon("chart-box-outline"), h("span", { class: "label" }, "Show stats"), this.showStats),
    );
  }

  setConfig(config) {
    this.config = { show_controls: true, show_stats: true, ...config };
    this.render();
  }

  set hass(hass) {
    const first = !this._hass;
    this._hass = hass;
    if (first) {
      this.stopStore = CameraStore.for(hass).listen((store) => {
        this.store = store;
        this.render();
      });
    }
  }

  disconnectedCallback() {
    this.stopStore?.();
    this.stopStore = null;
    this._hass = null;
  }

  render() {
    if (!this.config) return;
    const cameras = this.store?.cameras.filter((camera) => camera.entity_id) ?? [];
    const options = cameras.map((camera) => h("option", { value: camera.entity_id }, `${camera.name} (${camera.entity_id})`));
    if (this.config.entity && !cameras.some((camera) => camera.entity_id === this.config.entity)) {
      options.unshift(h("option", { value: this.config.entity }, this.config.entity));
    }
    this.select.replaceChildren(...options);
    this.select.value = this.config.entity ?? "";
    this.showControls.checked = this.config.show_controls !== false;
    this.showStats.checked = this.config.show_stats !== false;
  }

  changed(change) {
    this.config = { ...this.config, ...change };
    this.dispatchEvent(new CustomEvent("config-changed", { detail: { config: this.config }, bubbles: true, composed: true }));
  }
}

// --- registration (the module is loaded by the panel and on every dashboard) -------------------

const ELEMENTS = {
  "esp32-camera-controls": Esp32CameraControls,
  "esp32-camera-viewer": Esp32CameraViewer,
  "esp32-camera-saving": Esp32CameraSaving,
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
if (window.CustomElementRegistryPolyfill || window.customElements.get("home-assistant")) {
  defineElements();
} else {
  window.customElements.whenDefined("home-assistant").then(defineElements);
}

window.customCards = window.customCards || [];
if (!window.customCards.some((card) => card.type === "esp32-camera-card")) {
  window.customCards.push({
    type: "esp32-camera-card",
    name: "ESP32 Camera",
    description: "Live view of an ESP32 camera with its controls and statistics.",
    preview: false,
    documentationURL: "https://github.com/esp32-camera-ha/esp32-camera-ha#panel--card",
  });
}
