// @ts-check
/**
 * The live view of one camera: name and state, chips, the video scaled to fit with its aspect
 * ratio (filling the screen in fullscreen), its motion zones over it, and capture, freeze, zoom,
 * fullscreen and (administrators) zone editing tools. While the camera sees motion a badge says
 * so and the zones that see it are lit; with detection off the badge says that instead. With
 * attribute `mjpeg` (a card's) its picture may be the camera's MJPEG stream (live.js).
 */
import { CSS } from "./styles.js";
import { downloadBlob, formatDuration, formatNumber, h, icon, notify, setHidden, setText } from "./util.js";
import { localeOf, translator } from "./i18n.js";
import { ZONES_CSS, ZoneOverlay } from "./zones.js";
import { motionOf } from "./motion.js";

const LATENCY_GOOD_MS = 100;
const LATENCY_FAIR_MS = 200;
/**
 * The latency chip is updated at most this often (ms): as often as the statistics' push rewrites
 * the rate chip. Each new text lays the card out again, which cost a card more per painted frame
 * than HA's picture cards at 4 updates a second.
 */
const LATENCY_SHOWN_EVERY_MS = 1000;

export class Esp32CameraViewer extends HTMLElement {
  constructor() {
    super();
    this.attachShadow({ mode: "open" });
    this.frozen = false;
    this.zoomed = false;
    /** @type {number | null} */
    this.latency = null;
    this.latencyShownAt = 0;
    this.durationTimer = 0;
    this.online = true;
    this.clockOffset = 0;
    this.clockUncertainty = 0;
    /** @type {import("./store.js").Hass | undefined} */
    this._hass = undefined;
    /** @type {import("./store.js").Camera | undefined} */
    this.camera = undefined;
    const refs = (this.refs = /** @type {Record<string, any>} */ ({}));
    refs.name = h("span", { class: "grow" });
    refs.dot = h("span", { class: "dot" });
    refs.state = h("span", { class: "state" });
    refs.reconnecting = h("span", { class: "chip warning", hidden: true }, icon("lan-pending"), h("span"));
    refs.address = h("span", { class: "chip" }, icon("ip-network"), h("span"));
    refs.fps = h("span", { class: "chip" }, icon("speedometer"), h("span"));
    refs.latencyBar = h("div");
    refs.latencyText = h("span");
    refs.latency = h("span", { class: "chip latency" }, icon("timer-outline"), refs.latencyText, h("span", { class: "bar" }, refs.latencyBar));
    // The picture (live.js); its chip measures this very picture, where the page sees its frames
    // (an MJPEG stream's parts it never sees: no chip then).
    refs.live = h("esp32-camera-live", { role: "img" });
    // Per painted frame: only what changes is written (an unchanged write still restyles).
    refs.live.addEventListener("painted", (/** @type {CustomEvent} */ event) => {
      setHidden(refs.waiting, true);
      if (this.hasAttribute("no-latency")) return; // a card's: no chip to keep
      if (event.detail.latency !== null) this.reportLatency(event.detail.latency);
      else if (this.latency !== null) {
        this.latency = null;
        this.renderLatency();
      }
    });
    refs.waiting = h("div", { class: "overlay" });
    refs.offline = h("div", { class: "overlay", hidden: true });
    refs.frozenBadge = h("div", { class: "badge", hidden: true });
    refs.motionIcon = icon("motion-sensor");
    refs.motionText = h("span");
    refs.motionBadge = h("div", { class: "badge motion-badge", hidden: true, role: "status" }, refs.motionIcon, refs.motionText);
    this.zones = new ZoneOverlay(this, { beforeEdit: () => this.zoomed && this.toggleZoom() });
    refs.video = h("div", { class: "video" }, refs.live, this.zones.svg, refs.waiting, refs.offline, refs.frozenBadge, refs.motionBadge);
    refs.frame = h("div", { class: "frame" }, refs.video);
    const tool = (/** @type {string} */ name, /** @type {() => void} */ action) =>
      (refs[`tool_${name}`] = h("button", { class: "icon", onclick: action }, icon(name)));
    refs.toolbar = h(
      "div",
      { class: "tools" },
      h("slot", { name: "tools" }),
      h("span", { class: "grow" }),
      this.zones.tool,
      tool("camera", () => this.capture()),
      tool("pause", () => this.toggleFreeze()),
      tool("magnify-plus-outline", () => this.toggleZoom()),
      tool("fullscreen", () => this.toggleFullscreen()),
    );
    refs.stage = h("div", { class: "stage" }, refs.frame, refs.toolbar, this.zones.bar);
    this.shadowRoot?.append(
      h(
        "style",
        {},
        CSS,
        ZONES_CSS,
        `
        .head { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 8px; padding: 8px 12px; }
        .head .title { display: flex; flex-wrap: wrap; align-items: center; gap: 0 8px; font-size: 18px; flex: 1 1 160px; min-width: 0; }
        .head .title .grow { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; min-width: 3em; }
        .head .state { font-size: 13px; color: var(--secondary-text-color); white-space: nowrap; }
        .chips { display: flex; flex-wrap: wrap; gap: 6px; }
        .chip ha-icon { --mdc-icon-size: 16px; color: var(--secondary-text-color); }
        .chip.warning ha-icon { color: #000; }
        .latency { display: inline-flex; align-items: center; gap: 6px; }
        .latency .bar { width: 40px; height: 6px; border-radius: 3px; background: var(--divider-color); overflow: hidden; }
        /* No transition of the width: an animated width is laid out and painted at every
           display frame (per card) while it moves. */
        .latency .bar > div { height: 100%; width: 0; }
        .stage { position: relative; }
        .frame { background: #000; display: flex; justify-content: center; }
        .video {
          --ratio: 4 / 3; position: relative; display: block; overflow: hidden;
          aspect-ratio: var(--ratio); width: min(100%, calc(var(--video-max-height, 70vh) * (var(--ratio))));
        }
        .video esp32-camera-live { width: 100%; height: 100%; display: block; }
        .video .overlay {
          position: absolute; inset: 0; display: flex; align-items: center; justify-content: center;
          color: #fff; background: rgba(0, 0, 0, 0.55); font-size: 16px; text-align: center; padding: 16px;
        }
        .video .badge { position: absolute; top: 8px; left: 8px; padding: 2px 8px; border-radius: 4px; background: rgba(0, 0, 0, 0.6); color: #fff; font-size: 12px; }
        .video .motion-badge {
          left: auto; right: 8px; display: inline-flex; align-items: center; gap: 4px; z-index: 1;
          font-size: 14px; font-weight: 500; padding: 4px 10px; border-radius: 14px;
        }
        .video .motion-badge ha-icon { --mdc-icon-size: 18px; }
        .video .motion-badge.on { background: var(--error-color, #db4437); }
        .video .motion-badge.off { background: rgba(0, 0, 0, 0.6); color: rgba(255, 255, 255, 0.85); }
        /* Motion: the picture's edge lit too, seen from across the room. */
        .video.motion { outline: 3px solid var(--error-color, #db4437); outline-offset: -3px; }
        .tools { display: flex; flex-wrap: wrap; align-items: center; gap: 2px; padding: 2px 4px; color: var(--secondary-text-color); }
        .tools .grow { flex: 1; }
        /* Zoomed: the frame at 100 %, never smaller than fitted; centred while it fits (margin: auto
           in a flex box centres without cutting off the left of a wider picture). */
        .video.zoomed { overflow: auto; aspect-ratio: auto; width: 100%; max-height: 75vh; display: flex; }
        .video.zoomed esp32-camera-live { height: auto; max-width: none; flex: none; margin: auto; }
        .stage:fullscreen { background: #000; display: flex; flex-direction: column; }
        .stage:fullscreen .frame { flex: 1; min-height: 0; align-items: center; }
        .stage:fullscreen .video { width: 100%; height: 100%; aspect-ratio: auto; }
        .stage:fullscreen .tools { color: #fff; }
        :host([no-latency]) .latency { display: none; }
        :host([no-head]) .head { display: none; }
      `,
      ),
      h(
        "div",
        { class: "head" },
        h("div", { class: "title" }, refs.dot, refs.name, refs.state),
        h("div", { class: "chips" }, refs.reconnecting, refs.address, refs.fps, refs.latency),
      ),
      refs.stage,
    );
  }

  connectedCallback() {
    this.durationTimer = window.setInterval(() => this.renderDuration(), 1000); // local clock text only
  }

  disconnectedCallback() {
    clearInterval(this.durationTimer);
  }

  get t() {
    return translator(this._hass);
  }

  /**
   * @param {import("./store.js").Hass} hass
   * @param {import("./store.js").Camera} camera
   * @param {import("./store.js").CameraStore} store
   */
  show(hass, camera, store) {
    this._hass = hass;
    const changed = this.camera?.camera_id !== camera.camera_id;
    this.camera = camera;
    this.online = store.online;
    this.clockOffset = store.clockOffset;
    this.clockUncertainty = store.clockUncertainty;
    const { refs, t } = this;
    if (changed) {
      this.latency = null;
      this.setFrozen(false);
      refs.waiting.hidden = false;
    }
    // Written every second (the statistics' push): only what changed, as each write lays out.
    setText(refs.name, camera.name);
    refs.name.title = camera.camera_id;
    refs.live.setAttribute("aria-label", camera.name);
    refs.dot.className = `dot ${camera.connected && store.online ? "on" : ""}`;
    setHidden(refs.reconnecting, store.online);
    setText(refs.reconnecting.lastChild, t("state.reconnecting"));
    setText(refs.address.lastChild, camera.health?.ip || camera.address || "–");
    setText(refs.fps.lastChild, t("unit.fps", { value: formatNumber(camera.stats.fps, localeOf(hass), 1) }));
    refs.fps.classList.toggle("stale", !store.online || !camera.connected);
    refs.latency.title = t("viewer.latency_title");
    setText(refs.waiting, store.online ? t("viewer.waiting") : t("viewer.reconnecting"));
    setText(refs.offline, t("viewer.offline"));
    setHidden(refs.offline, camera.connected || !store.online);
    setText(refs.frozenBadge, t("viewer.frozen"));
    const width = camera.stats.width || 4;
    const height = camera.stats.height || 3;
    refs.video.style.setProperty("--ratio", `${width} / ${height}`);
    for (const [name, key] of [["camera", "viewer.capture"], ["pause", "viewer.freeze"], ["magnify-plus-outline", "viewer.zoom"], ["fullscreen", "viewer.fullscreen"]]) {
      refs[`tool_${name}`].title = t(key);
      refs[`tool_${name}`].setAttribute("aria-label", t(key));
    }
    if (!store.online) setHidden(refs.waiting, false);
    else if (!changed && refs.live.naturalWidth) setHidden(refs.waiting, true);
    this.renderDuration();
    this.renderLatency();
    const motion = motionOf(hass, camera);
    setHidden(refs.motionBadge, motion.enabled && !motion.active);
    refs.motionBadge.className = `badge motion-badge ${motion.enabled ? "on" : "off"}`;
    refs.motionIcon.setAttribute("icon", motion.enabled ? "mdi:motion-sensor" : "mdi:motion-sensor-off");
    setText(refs.motionText, motion.enabled ? t("motion.now") : t("motion.detection_off"));
    refs.video.classList.toggle("motion", motion.active);
    this.zones.show(hass, camera, store, motion.zones);
    refs.live.toggleAttribute("mjpeg", this.hasAttribute("mjpeg"));
    refs.live.show(hass, camera, store);
  }

  renderDuration() {
    const camera = this.camera;
    if (!camera) return;
    const t = this.t;
    const state = !this.online
      ? t("state.unknown")
      : camera.connected
        ? t("state.connected_for", { duration: formatDuration((Date.now() + this.clockOffset - camera.connected_since) / 1000, t) })
        : t("state.disconnected");
    setText(this.refs.state, state);
  }

  /** Record the measured latency of one displayed grid frame of this camera (ms). @param {number} milliseconds */
  reportLatency(milliseconds) {
    const first = this.latency === null;
    this.latency = this.latency === null ? milliseconds : this.latency * 0.8 + milliseconds * 0.2;
    // Shown once a second, not per frame: each change lays out and paints the chip again.
    const now = performance.now();
    if (!first && now - this.latencyShownAt < LATENCY_SHOWN_EVERY_MS) return;
    this.latencyShownAt = now;
    this.renderLatency();
  }

  renderLatency() {
    const { latency, latencyText, latencyBar } = this.refs;
    setHidden(latency, this.latency === null);
    if (this.latency === null) return;
    // Below the clock estimate's uncertainty the figure is not known better than "at most".
    const floor = Math.max(1, Math.round(this.clockUncertainty));
    const value = this.latency;
    setText(latencyText, value < floor ? this.t("unit.ms_at_most", { value: floor }) : this.t("unit.ms", { value: Math.round(value) }));
    // In steps of 5 % (2 px of the bar): a change the eye cannot see is not laid out again.
    const width = `${Math.max(1, Math.round(Math.min(100, (Math.max(value, floor) / (LATENCY_FAIR_MS * 1.5)) * 100) / 5)) * 5}%`;
    if (latencyBar.style.width !== width) latencyBar.style.width = width;
    const level = value < LATENCY_GOOD_MS ? "good" : value < LATENCY_FAIR_MS ? "fair" : "poor";
    if (latencyBar.className !== level) latencyBar.className = level;
  }

  async capture() {
    // The JPEG as the camera sent it, not a copy of the screen.
    const jpeg = await this.refs.live.still();
    const camera = this.camera;
    if (!jpeg || !camera) {
      notify(this, this.t("viewer.no_picture"));
      return;
    }
    const stamp = new Date().toISOString().replace(/[:.]/g, "-");
    downloadBlob(jpeg, `${camera.camera_id}_${stamp}.jpg`);
    notify(this, this.t("viewer.downloaded", { camera: camera.name }));
  }

  /** Frozen: the picture stops (and nothing is received meanwhile). @param {boolean} frozen */
  setFrozen(frozen) {
    const { live, frozenBadge } = this.refs;
    if (frozen && !live.hasPicture) return;
    this.frozen = frozen;
    live.paused = frozen;
    frozenBadge.hidden = !frozen;
    this.refs.tool_pause.classList.toggle("active", frozen);
    this.refs.tool_pause.firstChild.setAttribute("icon", frozen ? "mdi:play" : "mdi:pause");
  }

  toggleFreeze() {
    this.setFrozen(!this.frozen);
  }

  toggleZoom() {
    const { video, live } = this.refs;
    const fitted = video.getBoundingClientRect().width;
    this.zoomed = !this.zoomed;
    video.classList.toggle("zoomed", this.zoomed);
    const natural = live.naturalWidth || fitted;
    live.style.width = this.zoomed ? `${Math.round(Math.max(natural, fitted))}px` : "";
    live.toggleAttribute("natural", this.zoomed);
    this.refs["tool_magnify-plus-outline"].classList.toggle("active", this.zoomed);
  }

  toggleFullscreen() {
    if (document.fullscreenElement) document.exitFullscreen?.();
    else this.refs.stage.requestFullscreen?.().catch(() => {});
  }

  leave() {
    if (document.fullscreenElement) document.exitFullscreen?.();
    if (this.zoomed) this.toggleZoom();
  }
}
