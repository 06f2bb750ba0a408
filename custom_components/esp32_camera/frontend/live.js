// @ts-check
/**
 * `<esp32-camera-live>`: one camera's live picture, painted from the page's frame socket
 * (stream.js) into an <img>.
 *
 * - Each JPEG becomes a `data:` URL of the <img>, as an MJPEG <img> takes each part: Chromium
 *   loads a data URL inside the page (no Blob registered with, and its bytes copied to and back
 *   from, the browser process, which cost 1.4x the CPU of HA's MJPEG cards per painted frame) and
 *   decodes it when it paints, at the size it is shown (a tile decodes a scaled-down JPEG).
 *   docs/performance.md has the measurements behind the choice.
 * - It wants frames only while it is on screen: out of view (IntersectionObserver, which also sees
 *   a tile scrolled out of its strip), on a hidden page or while `paused` (the viewer's freeze), it
 *   unwatches, and the server sends it nothing.
 * - The <img> is scaled with `object-fit: contain` (or `cover`), so overlays that follow the
 *   frame's aspect ratio line up; attribute `natural` shows it at the frame's size.
 * - After each frame is loaded it fires `painted` (detail: `latency` from the hub's arrival to
 *   then, ms, with the store's clock offset; `width`, `height` of the frame), and keeps the
 *   painted rate and the last JPEG (`jpeg`: what the camera sent, for a capture).
 */
import { FrameSocket } from "./stream.js";

/** The painted rate is counted over this window (ms). */
const RATE_WINDOW_MS = 2000;
/** Bytes turned into base64 text per call where the browser lacks Uint8Array.toBase64. */
const BASE64_CHUNK = 0x8000;
/** A tile starts receiving a little before it scrolls into view (px around the viewport). */
const VIEW_MARGIN = "64px";

/**
 * A JPEG as a data URL.
 * @param {Uint8Array} jpeg
 */
export function jpegDataUrl(jpeg) {
  const native = /** @type {{ toBase64?: () => string }} */ (/** @type {unknown} */ (jpeg)).toBase64;
  if (native) return `data:image/jpeg;base64,${native.call(jpeg)}`;
  let text = "";
  for (let at = 0; at < jpeg.length; at += BASE64_CHUNK) text += String.fromCharCode(...jpeg.subarray(at, at + BASE64_CHUNK));
  return `data:image/jpeg;base64,${btoa(text)}`;
}

/** Frames painted per second over the last RATE_WINDOW_MS. */
export class PaintedRate {
  constructor() {
    /** @type {number[]} */
    this.times = [];
  }

  painted() {
    const now = performance.now();
    this.times.push(now);
    while (this.times.length && this.times[0] < now - RATE_WINDOW_MS) this.times.shift();
  }

  rate() {
    const now = performance.now();
    return (this.times.filter((time) => time >= now - RATE_WINDOW_MS).length * 1000) / RATE_WINDOW_MS;
  }
}

export class Esp32CameraLive extends HTMLElement {
  constructor() {
    super();
    const root = this.attachShadow({ mode: "open" });
    const style = document.createElement("style");
    style.textContent = `
      :host { display: block; position: relative; width: 100%; height: 100%; }
      img { display: block; width: 100%; height: 100%; object-fit: contain; }
      /* Hidden until its first frame by a class, not by :not([src]): a rule on src makes
         Chromium restyle the picture at every new frame. */
      img.empty { visibility: hidden; }
      :host([fit="cover"]) img { object-fit: cover; }
      :host([natural]) { height: auto; }
      :host([natural]) img { height: auto; }
    `;
    /** The picture (what a sampler or a screenshot reads). */
    this.picture = document.createElement("img");
    this.picture.alt = "";
    this.picture.draggable = false;
    this.picture.className = "empty";
    this.picture.addEventListener("load", () => this.loaded(true));
    this.picture.addEventListener("error", () => this.loaded(false));
    root.append(style, this.picture);
    /** The frame being loaded into the picture, and how to tell its sender it is done.
     * @type {{ jpeg: Uint8Array, header: import("./stream.js").FrameHeader, done: () => void } | null} */
    this.loading = null;
    /** @type {import("./store.js").Hass | undefined} */
    this.hass = undefined;
    /** @type {import("./stream.js").CameraRef | null} */
    this.camera = null;
    this.cameraKey = "";
    this.clockOffset = 0;
    this.inView = false;
    this._paused = false;
    /** @type {(() => void) | null} */
    this.stopWatching = null;
    this.watchingKey = "";
    this.rates = new PaintedRate();
    this.painted = 0;
    this.lastArrived = 0;
    /** @type {number | null} the last frame's display latency (ms) */
    this.latency = null;
    /** @type {Uint8Array | null} the last painted JPEG, as the camera sent it */
    this.lastJpeg = null;
    this.naturalWidth = 0;
    this.naturalHeight = 0;
    /** @type {string | null} why the server refused this camera, if it did */
    this.refusal = null;
    this.sink = {
      paint: (/** @type {Uint8Array} */ jpeg, /** @type {import("./stream.js").FrameHeader} */ header) => this.paint(jpeg, header),
      refused: (/** @type {string} */ code) => {
        this.refusal = code;
      },
    };
    this.observer = new IntersectionObserver(
      (entries) => {
        this.inView = entries[entries.length - 1].isIntersecting;
        this.update();
      },
      { rootMargin: VIEW_MARGIN },
    );
    this.onVisibility = () => this.update();
  }

  connectedCallback() {
    this.observer.observe(this);
    document.addEventListener("visibilitychange", this.onVisibility);
    this.update();
  }

  disconnectedCallback() {
    this.observer.disconnect();
    this.inView = false;
    document.removeEventListener("visibilitychange", this.onVisibility);
    this.update();
  }

  /**
   * Show `camera` (a camera of the store).
   * @param {import("./store.js").Hass} hass
   * @param {import("./store.js").Camera} camera
   * @param {import("./store.js").CameraStore} store
   */
  show(hass, camera, store) {
    this.hass = hass;
    this.clockOffset = store.clockOffset;
    const key = `${camera.entry_id ?? ""}/${camera.camera_id}`;
    if (key !== this.cameraKey) {
      this.cameraKey = key;
      this.camera = { camera_id: camera.camera_id, entry_id: camera.entry_id };
      this.lastArrived = 0;
      this.latency = null;
      this.refusal = null;
      this.lastJpeg = null; // the old camera's picture is not this one's
      this.loading?.done(); // nor its frame still loading
      this.loading = null;
      this.naturalWidth = this.naturalHeight = 0;
    }
    if (store.online) FrameSocket.for(hass).hubsChanged(store.hubs.map((hub) => `${hub.entry_id}@${hub.started_at}`).join());
    this.update();
  }

  /** The last painted JPEG as the camera sent it (for a capture), or null. */
  get jpeg() {
    return this.lastJpeg && new Blob([/** @type {Uint8Array<ArrayBuffer>} */ (this.lastJpeg)], { type: "image/jpeg" });
  }

  /** Whether painting stops (the last picture stays; nothing is received meanwhile). */
  get paused() {
    return this._paused;
  }

  set paused(paused) {
    this._paused = paused;
    this.update();
  }

  /** Frames painted per second, lately. */
  paintedRate() {
    return this.rates.rate();
  }

  /** Watch while shown, on screen, on a visible page and not paused; unwatch otherwise. */
  update() {
    const wanted = Boolean(this.isConnected && this.camera && this.hass && this.inView && !document.hidden && !this._paused);
    if (this.stopWatching && (!wanted || this.watchingKey !== this.cameraKey)) {
      this.stopWatching();
      this.stopWatching = null;
    }
    if (wanted && !this.stopWatching && this.hass && this.camera) {
      this.watchingKey = this.cameraKey;
      this.stopWatching = FrameSocket.for(this.hass).watch(this.camera, this.sink);
    }
  }

  /**
   * Show one frame (one older than the last painted is dropped). Resolves once it is loaded, or
   * replaced by a newer one before that (newest wins: a slow page never paints a backlog).
   * @param {Uint8Array} jpeg
   * @param {import("./stream.js").FrameHeader} header
   * @returns {Promise<void>}
   */
  paint(jpeg, header) {
    if (header.arrived < this.lastArrived || this._paused) return Promise.resolve();
    this.loading?.done();
    return new Promise((done) => {
      this.loading = { jpeg, header, done };
      this.picture.src = jpegDataUrl(jpeg);
    });
  }

  /** The picture loaded (or refused) the frame last given to it. @param {boolean} shown */
  loaded(shown) {
    const loading = this.loading;
    if (!loading) return;
    this.loading = null;
    loading.done();
    if (!shown) return; // a JPEG the browser cannot read: the next frame replaces it
    const { header } = loading;
    this.naturalWidth = header.width || this.picture.naturalWidth;
    this.naturalHeight = header.height || this.picture.naturalHeight;
    this.lastArrived = header.arrived;
    this.lastJpeg = loading.jpeg;
    if (this.painted === 0) this.picture.className = "";
    this.painted += 1;
    this.dataset.frames = String(this.painted);
    this.rates.painted();
    this.latency = Date.now() + this.clockOffset - header.arrived;
    this.dispatchEvent(new CustomEvent("painted", { detail: { latency: this.latency, width: this.naturalWidth, height: this.naturalHeight } }));
  }
}
