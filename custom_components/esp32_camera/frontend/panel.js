// @ts-check
/**
 * The sidebar panel: the selected camera's video first (scaled to fit), the other cameras as a
 * strip under it, then its motion and recording, controls, image saving and statistics. The
 * overview (the toolbar's grid button) shows every camera as a large tile instead; a tapped tile
 * opens that camera. On a phone the video comes first and a tapped tile becomes the video. The
 * panel opens on the camera the user last looked at (kept in this browser).
 */
import { CSS } from "./styles.js";
import { CameraStore } from "./store.js";
import { commandToastId, formatNumber, h, icon, notify, setTexts, whenDefined } from "./util.js";
import { loadStrings, localeOf, stringsReady, translator } from "./i18n.js";
import { motionOf } from "./motion.js";
import { settingInWords } from "./controls.js";

/** Where this browser keeps the camera last looked at. */
export const LAST_CAMERA_KEY = "esp32_camera.panel.camera";

/** Elements of Home Assistant the panel's sections use; they are awaited before the first render. */
const HA_ELEMENTS = ["ha-form", "ha-switch", "ha-button", "ha-alert", "ha-dialog"];

/**
 * @typedef {{ live: import("./live.js").Esp32CameraLive, name: HTMLElement, dot: HTMLElement, fps: HTMLElement,
 *   button: HTMLButtonElement, shown: number }} Tile
 */

export class Esp32CameraPanel extends HTMLElement {
  constructor() {
    super();
    this.attachShadow({ mode: "open" });
    /** @type {string | null} */
    this.selected = null;
    /** @type {Map<string, Tile>} */
    this.tiles = new Map();
    /** @type {import("./store.js").Hass | undefined} */
    this._hass = undefined;
    /** @type {CameraStore | undefined} */
    this.store = undefined;
    /** @type {(() => void) | null} */
    this.stopStore = null;
    this.overview = false;
    this.language = "";
    /** @type {Map<string, string>} */
    this.responses = new Map();
    this.addEventListener("keydown", (event) => this.handleKey(event));
    const refs = (this.refs = /** @type {Record<string, any>} */ ({}));
    refs.menu = h("button", { class: "icon menu", onclick: () => this.dispatchEvent(new CustomEvent("hass-toggle-menu", { bubbles: true, composed: true })) }, icon("menu"));
    refs.title = h("div", { class: "title" });
    refs.summary = h("div", { class: "summary" });
    refs.grid = h("div", { class: "grid strip" });
    refs.overviewToggle = h("button", { class: "icon overview-toggle", onclick: () => this.toggleOverview() }, icon("view-grid-outline"));
    refs.emptyTitle = h("h2");
    refs.emptyText = h("p", { class: "muted" });
    refs.empty = h("div", { class: "card empty", hidden: true }, h("div", { class: "card-content" }, refs.emptyTitle, refs.emptyText));
    refs.viewer = h("esp32-camera-viewer");
    refs.motion = h("esp32-camera-motion");
    refs.controls = h("esp32-camera-controls");
    refs.saving = h("esp32-camera-saving");
    refs.clips = h("esp32-camera-clips");
    refs.stats = h("esp32-camera-stats");
    refs.refresh = h("button", { class: "icon", onclick: () => this.refreshStats() }, icon("refresh"));
    const card = (/** @type {string} */ key, /** @type {string} */ iconName, /** @type {any} */ body, /** @type {any} */ extra = null) => {
      refs[`${key}Title`] = h("span", { class: "grow" });
      return h("div", { class: `card card-${key}` }, h("div", { class: "card-header" }, icon(iconName), refs[`${key}Title`], extra), h("div", { class: "card-content" }, body));
    };
    refs.viewerCard = h("div", { class: "card live" }, refs.viewer, refs.grid);
    refs.main = h(
      "div",
      { class: "main", hidden: true },
      h("div", { class: "col wide" }, refs.viewerCard, h("div", { class: "statscard" }, card("stats", "chart-box-outline", refs.stats, refs.refresh))),
      h("div", { class: "col" }, card("motion", "motion-sensor", refs.motion), card("controls", "tune", refs.controls), card("saving", "content-save-all", refs.saving), card("clips", "filmstrip", refs.clips)),
    );
    refs.overviewBox = h("div", { class: "overview-box", hidden: true });
    refs.content = h("div", { class: "content" }, refs.empty, refs.main, refs.overviewBox);
    this.shadowRoot?.append(
      h(
        "style",
        {},
        CSS,
        `
        :host { background: var(--primary-background-color); min-height: 100vh; outline: none; }
        .toolbar {
          display: flex; align-items: center; gap: 8px; height: var(--header-height, 56px); box-sizing: border-box;
          padding: 0 16px; font-size: 20px; position: sticky; top: 0; z-index: 2;
          background: var(--app-header-background-color, var(--primary-color));
          color: var(--app-header-text-color, var(--text-primary-color, #fff));
          border-bottom: var(--app-header-border-bottom, none);
        }
        .toolbar .title { flex: 1; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
        .toolbar .summary { font-size: 14px; opacity: 0.9; white-space: nowrap; display: flex; align-items: center; gap: 6px; }
        .toolbar .summary.offline { opacity: 1; background: var(--warning-color, #ffa600); color: #000; border-radius: 12px; padding: 2px 10px; }
        .menu { margin-left: -8px; }
        :host(:not([narrow])) .menu { display: none; }
        .content { padding: 16px; max-width: 1800px; margin: 0 auto; outline: none; }
        .main { display: grid; grid-template-columns: minmax(0, 1fr) minmax(320px, 400px); gap: 16px; align-items: start; }
        .col { display: flex; flex-direction: column; gap: 16px; min-width: 0; }
        .live { --video-max-height: calc(100vh - 230px); scroll-margin-top: calc(var(--header-height, 56px) + 8px); }
        .grid { display: grid; gap: 6px; padding: 8px; }
        .grid.strip { grid-auto-flow: column; grid-auto-columns: 150px; overflow-x: auto; }
        /* The overview: every camera large, as many columns as fit tiles of 360 px. */
        .grid.overview { grid-template-columns: repeat(auto-fill, minmax(min(100%, 360px), 1fr)); gap: 12px; padding: 0; }
        .grid.overview .tile .caption { font-size: 15px; padding: 8px 12px; }
        .tile.motion { border-color: var(--error-color, #db4437); }
        .tile .motion-dot { display: none; color: var(--error-color, #db4437); --mdc-icon-size: 16px; }
        .tile.motion .motion-dot { display: inline-flex; }
        .tile {
          position: relative; border-radius: 8px; overflow: hidden; cursor: pointer; background: #000;
          aspect-ratio: 4 / 3; border: 2px solid transparent; padding: 0; font: inherit; color: #fff;
        }
        .tile.selected { border-color: var(--primary-color); }
        .tile:focus-visible { outline: 3px solid var(--primary-color); outline-offset: 2px; border-color: var(--text-primary-color, #fff); }
        .tile esp32-camera-live { width: 100%; height: 100%; display: block; }
        .tile .caption {
          position: absolute; left: 0; right: 0; bottom: 0; display: flex; align-items: center; gap: 6px;
          padding: 4px 8px; font-size: 12px; text-align: left;
          background: linear-gradient(transparent, rgba(0, 0, 0, 0.75));
        }
        .tile .caption .name { flex: 1; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
        .tile.offline esp32-camera-live, .tile.stale esp32-camera-live { opacity: 0.35; filter: grayscale(1); }
        .empty h2 { font-weight: 400; margin: 8px 0; }
        @media (max-width: 1000px) {
          .main { grid-template-columns: minmax(0, 1fr); }
          .col { display: contents; }
          .statscard { order: 1; }
        }
        :host([narrow]) .content { padding: 0 0 8px; }
        :host([narrow]) .main { grid-template-columns: minmax(0, 1fr); gap: 8px; }
        :host([narrow]) .col { display: contents; }
        :host([narrow]) .statscard { order: 1; }
        :host([narrow]) .card { border-radius: 0; border-left: none; border-right: none; }
        :host([narrow]) .live { --video-max-height: 45vh; }
        :host([narrow]) .grid.strip { grid-auto-columns: 120px; }
        :host([narrow]) .grid.overview { grid-template-columns: minmax(0, 1fr); padding: 0 8px; gap: 8px; }
        :host([narrow]) .toolbar { padding: 0 8px 0 4px; }
        :host([narrow]) .menu { margin-left: 0; }
      `,
      ),
      h("div", { class: "toolbar" }, refs.menu, refs.title, refs.summary, refs.overviewToggle),
      refs.content,
    );
  }

  /** @param {boolean} narrow */
  set narrow(narrow) {
    this.toggleAttribute("narrow", Boolean(narrow));
  }

  /** @param {unknown} _panel */
  set panel(_panel) {}

  /** @param {unknown} _route */
  set route(_route) {}

  /** @param {import("./store.js").Hass} hass */
  set hass(hass) {
    const previous = this._hass;
    this._hass = hass;
    for (const element of [this.refs.controls, this.refs.saving]) element.hass = hass;
    // Switching the motion entities shows at once (their states come with `hass`, not the feed).
    if (!previous && this.isConnected) this.start();
    else if (hass.language !== this.language) loadStrings(hass).then(() => this.render());
    else if (this.store?.loaded && hassChanged(previous, hass, this.store.cameras)) this.render();
  }

  get t() {
    return translator(this._hass);
  }

  connectedCallback() {
    // Focusable (not in the tab order): a click anywhere in the panel gives it the keyboard, and
    // its shortcuts work only then; elsewhere Home Assistant's keys are untouched.
    if (!this.hasAttribute("tabindex")) this.tabIndex = -1;
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
    Promise.all([loadStrings(hass), whenDefined(HA_ELEMENTS)]).then(() => this.render());
  }

  /** The overview (every camera as a large tile, nothing else) or the selected camera's page. */
  toggleOverview() {
    const { refs } = this;
    this.overview = !this.overview;
    refs.grid.classList.toggle("strip", !this.overview);
    refs.grid.classList.toggle("overview", this.overview);
    refs.overviewToggle.classList.toggle("active", this.overview);
    refs.overviewToggle.setAttribute("aria-pressed", String(this.overview));
    (this.overview ? refs.overviewBox : refs.viewerCard).append(refs.grid);
    this.render();
  }

  /** @param {import("./store.js").Camera} camera */
  tile(camera) {
    let tile = this.tiles.get(camera.camera_id);
    if (!tile) {
      // Decoded at the tile's size; receives nothing while scrolled out of view (live.js).
      const live = h("esp32-camera-live", { fit: "cover", role: "img" });
      const name = h("span", { class: "name" });
      const dot = h("span", { class: "dot" });
      const fps = h("span");
      const button = h("button", { class: "tile", "data-camera": camera.camera_id, onclick: () => this.select(camera.camera_id, true) }, live, h("span", { class: "caption" }, dot, name, h("span", { class: "motion-dot" }, icon("motion-sensor")), fps));
      const shown = /** @type {Tile} */ ({ live, name, dot, fps, button, shown: 0 });
      live.addEventListener("painted", () => {
        shown.shown += 1;
        button.dataset.frames = String(shown.shown);
      });
      tile = shown;
      this.tiles.set(camera.camera_id, tile);
    }
    const store = /** @type {CameraStore} */ (this.store);
    const t = this.t;
    const locale = localeOf(this._hass);
    const painted = tile.live.paintedRate();
    tile.name.textContent = camera.name;
    tile.live.setAttribute("aria-label", camera.name);
    tile.live.show(/** @type {import("./store.js").Hass} */ (this._hass), camera, store);
    tile.dot.className = `dot ${camera.connected && store.online ? "on" : ""}`;
    tile.fps.textContent = !store.online ? t("grid.stale") : camera.connected ? t("unit.fps", { value: formatNumber(painted, locale, 0) }) : t("grid.offline");
    tile.button.title = t("grid.tile_title", { camera: camera.name, painted: formatNumber(painted, locale, 1), sent: formatNumber(camera.stats.fps, locale, 1) });
    tile.button.classList.toggle("offline", !camera.connected);
    tile.button.classList.toggle("stale", !store.online);
    tile.button.classList.toggle("selected", camera.camera_id === this.selected);
    tile.button.classList.toggle("motion", motionOf(/** @type {import("./store.js").Hass} */ (this._hass), camera).active);
    return tile;
  }

  /** Toast the cameras' answers to commands sent from elsewhere (this page toasts its own). @param {import("./store.js").Camera[]} cameras */
  toastForeignResponses(cameras) {
    const store = /** @type {CameraStore} */ (this.store);
    for (const camera of cameras) {
      const response = camera.last_response;
      const text = JSON.stringify(response);
      const previous = this.responses.get(camera.camera_id);
      this.responses.set(camera.camera_id, text);
      if (previous === undefined || previous === text || !response) continue;
      if (store.sentRecently(camera.camera_id, response.command)) continue;
      // In words (controls.js), not the camera's raw answer ("hmirror ok (1)").
      const words = settingInWords(this.t, store, response.command, response.value ?? "");
      const key = response.ok ? (response.value ? "toast.response_ok_value" : "toast.response_ok") : "toast.response_failed";
      notify(this, this.t(key, { camera: camera.name, command: words.setting, value: words.value }), commandToastId(camera.camera_id, [response.command]));
    }
  }

  /** @param {string} cameraId @param {boolean} [reveal] bring the video into view (a phone) */
  select(cameraId, reveal = false) {
    this.selected = cameraId;
    rememberCamera(cameraId);
    if (this.overview) this.toggleOverview(); // a tile of the overview opens its camera
    else this.render();
    // Below Home Assistant's header (the viewer card's scroll margin), its name in sight.
    if (reveal && this.hasAttribute("narrow")) this.refs.viewerCard.scrollIntoView({ block: "start", behavior: "smooth" });
  }

  render() {
    const { store, refs } = this;
    const hass = this._hass;
    if (!store?.loaded || !hass || !stringsReady(hass)) return;
    this.language = hass.language ?? "";
    const t = this.t;
    const locale = localeOf(hass);
    const cameras = store.cameras;
    refs.title.textContent = t("panel.title");
    refs.menu.title = refs.menu.ariaLabel = t("panel.sidebar");
    refs.refresh.title = refs.refresh.ariaLabel = t("panel.refresh");
    refs.overviewToggle.title = refs.overviewToggle.ariaLabel = t("panel.overview");
    setTexts(refs, {
      statsTitle: "panel.stats",
      motionTitle: "panel.motion",
      controlsTitle: "panel.controls",
      savingTitle: "panel.saving",
      clipsTitle: "panel.clips",
      emptyTitle: "panel.empty_title",
      emptyText: "panel.empty_text",
    }, t);
    refs.empty.hidden = cameras.length > 0;
    refs.main.hidden = cameras.length === 0 || this.overview;
    refs.overviewBox.hidden = cameras.length === 0 || !this.overview;
    const connected = cameras.filter((camera) => camera.connected).length;
    const fps = store.hubs.reduce((sum, hub) => sum + (hub.stats.fps || 0), 0);
    refs.summary.classList.toggle("offline", !store.online);
    refs.summary.textContent = store.online
      ? t("panel.summary", { connected, total: cameras.length, fps: formatNumber(fps, locale, 1) })
      : t("state.reconnecting");
    // Removed cameras go: their tiles and frames with them.
    const known = new Set(cameras.map((camera) => camera.camera_id));
    for (const cameraId of [...this.tiles.keys()]) if (!known.has(cameraId)) this.tiles.delete(cameraId);
    if (!cameras.length) return;
    if (!store.camera(this.selected)) this.selected = (store.camera(lastCamera()) ?? cameras[0]).camera_id;
    const tiles = cameras.map((camera) => this.tile(camera).button);
    if (tiles.some((button, index) => refs.grid.children[index] !== button) || refs.grid.childElementCount !== tiles.length) {
      refs.grid.replaceChildren(...tiles);
    }
    this.toastForeignResponses(cameras);
    const camera = /** @type {import("./store.js").Camera} */ (store.camera(this.selected));
    refs.viewer.show(hass, camera, store);
    refs.motion.show(hass, store, camera);
    refs.controls.show(store, camera);
    refs.saving.show(hass, store, camera);
    refs.clips.show(hass, store, camera);
    refs.stats.show(hass, store, camera);
  }

  refreshStats() {
    const camera = this.store?.camera(this.selected);
    this.store?.load();
    if (camera && this.store) {
      this.refs.saving.loadGallery();
      this.refs.clips.load();
      if (this._hass?.user?.is_admin && camera.connected) this.store.commandsWithToast(this, camera, [["stats", undefined]], this.t("panel.stats_requested"), this.t);
    }
  }

  /** Shortcuts, while the panel has the focus (the events of its own elements only). @param {KeyboardEvent} event */
  handleKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey || !this.store?.loaded || !this.selected) return;
    const path = event.composedPath();
    if (path.some((element) => /DIALOG/.test(/** @type {Element} */ (element).tagName ?? ""))) return;
    const target = /** @type {HTMLElement} */ (path[0]);
    const tag = target?.tagName ?? "";
    const typing = target?.isContentEditable || /^(TEXTAREA|SELECT|INPUT|HA-SELECT|HA-SLIDER|HA-SWITCH)$/.test(tag) || target?.getAttribute?.("role") === "slider";
    // Space and Enter keep their meaning on focused buttons and switches.
    if (typing || (/BUTTON/.test(tag) && [" ", "Enter"].includes(event.key))) return;
    const viewer = this.refs.viewer;
    /** @type {Record<string, () => void>} */
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

/** The camera this browser last looked at in the panel (none: storage is off or empty). */
function lastCamera() {
  try {
    return window.localStorage.getItem(LAST_CAMERA_KEY);
  } catch {
    return null; // storage refused (a private window's policy): the first camera then
  }
}

/** @param {string} cameraId */
function rememberCamera(cameraId) {
  try {
    window.localStorage.setItem(LAST_CAMERA_KEY, cameraId);
  } catch {
    // Not kept: the panel opens on the first camera next time.
  }
}

/**
 * Whether a new `hass` changes what is shown: the user, the actions, the language, a camera
 * entity (its stream token changes when Home Assistant restarts) or a camera's motion entities.
 * @param {import("./store.js").Hass | undefined} previous
 * @param {import("./store.js").Hass} hass
 * @param {import("./store.js").Camera[]} cameras
 */
export function hassChanged(previous, hass, cameras) {
  return (
    !previous ||
    previous.user !== hass.user ||
    previous.services !== hass.services ||
    previous.language !== hass.language ||
    cameras.some((camera) =>
      [camera.entity_id, ...Object.values(camera.motion_now?.entities ?? {})].some((entityId) => entityId && previous.states[entityId] !== hass.states[entityId]),
    )
  );
}
