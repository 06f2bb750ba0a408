// @ts-check
/**
 * `<esp32-camera-live>`: one camera's live picture, painted from the page's frame socket
 * (stream.js) onto a <canvas>.
 *
 * - Each JPEG is decoded off the main thread (`createImageBitmap`) and handed to the canvas
 *   without a copy (`ImageBitmapRenderingContext.transferFromImageBitmap`); a small picture
 *   (attribute `fit="cover"`, the grid's tiles) is decoded at the size it is shown.
 * - It wants frames only while it is on screen: out of view (IntersectionObserver, which also sees
 *   a tile scrolled out of its strip), on a hidden page or while `paused` (the viewer's freeze), it
 *   unwatches, and the server sends it nothing.
 * - The canvas is scaled like an <img> with `object-fit: contain` (or `cover`), so overlays that
 *   follow the frame's aspect ratio line up; attribute `natural` shows it at the frame's size.
 * - After each painted frame it fires `painted` (detail: `latency` from the hub's arrival to the
 *   paint, ms, with the store's clock offset; `width`, `height` of the frame), and keeps the
 *   painted rate and the last JPEG (`jpeg`: what the camera sent, for a capture).
 */
import { FrameSocket } from "./stream.js";

/** The painted rate is counted over this window (ms). */
const RATE_WINDOW_MS = 2000;
/** A frame decoded after a newer one arrived is skipped, unless nothing was painted for this long
 * (ms): after a stall of the page the newest frame is shown, never a backlog, yet a page that
 * decodes slower than frames arrive still paints. */
const STALE_SKIP_MS = 100;
/** A tile starts receiving a little before it scrolls into view (px around the viewport). */
const VIEW_MARGIN = "64px";

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
      canvas { display: block; width: 100%; height: 100%; object-fit: contain; }
      :host([fit="cover"]) canvas { object-fit: cover; }
      :host([natural]) { height: auto; }
      :host([natural]) canvas { height: auto; }
    `;
    this.canvas = document.createElement("canvas");
    this.canvas.width = 0; // nothing painted yet: no 300x150 blank
    this.canvas.height = 0;
    this.context = /** @type {ImageBitmapRenderingContext} */ (this.canvas.getContext("bitmaprenderer"));
    root.append(style, this.canvas);
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
    this.newestArrived = 0; // the newest frame handed to this picture, painted or not
    this.lastPaintAt = 0;
    /** @type {number | null} the last frame's display latency (ms) */
    this.latency = null;
    /** @type {Blob | null} the last painted JPEG, as the camera sent it */
    this.jpeg = null;
    this.naturalWidth = 0;
    this.naturalHeight = 0;
    /** @type {string | null} why the server refused this camera, if it did */
    this.refusal = null;
    this.sink = {
      paint: (/** @type {Blob} */ jpeg, /** @type {import("./stream.js").FrameHeader} */ header) => this.paint(jpeg, header),
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
      this.lastArrived = this.newestArrived = 0;
      this.latency = null;
      this.refusal = null;
      this.jpeg = null; // the old camera's picture is not this one's
      this.naturalWidth = this.naturalHeight = 0;
    }
    if (store.online) FrameSocket.for(hass).hubsChanged(store.hubs.map((hub) => `${hub.entry_id}@${hub.started_at}`).join());
    this.update();
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

  /** Decoding options: a tile is decoded at its shown size, the video at the frame's. @param {import("./stream.js").FrameHeader} header */
  decodeSize(header) {
    if (this.getAttribute("fit") !== "cover" || !header.width || !header.height) return undefined;
    const ratio = window.devicePixelRatio || 1;
    const scale = Math.max(this.clientWidth / header.width, this.clientHeight / header.height) * ratio;
    if (!(scale > 0 && scale < 0.75)) return undefined;
    return { resizeWidth: Math.max(1, Math.round(header.width * scale)), resizeHeight: Math.max(1, Math.round(header.height * scale)), resizeQuality: /** @type {ResizeQuality} */ ("medium") };
  }

  /**
   * Paint one frame (an older one than the last painted is dropped).
   * @param {Blob} jpeg
   * @param {import("./stream.js").FrameHeader} header
   */
  async paint(jpeg, header) {
    if (header.arrived < this.lastArrived || this._paused) return;
    this.newestArrived = Math.max(this.newestArrived, header.arrived);
    const key = this.cameraKey;
    const options = this.decodeSize(header);
    const bitmap = await (options ? createImageBitmap(jpeg, options) : createImageBitmap(jpeg));
    const superseded = header.arrived < this.newestArrived && performance.now() - this.lastPaintAt < STALE_SKIP_MS;
    if (header.arrived < this.lastArrived || superseded || this._paused || key !== this.cameraKey) {
      bitmap.close();
      return;
    }
    this.naturalWidth = header.width || bitmap.width;
    this.naturalHeight = header.height || bitmap.height;
    // The canvas's size is the decoded picture's (what a sampler or a screenshot reads back);
    // the transfer hands it the bitmap without a copy (the bitmap is detached after).
    if (this.canvas.width !== bitmap.width || this.canvas.height !== bitmap.height) {
      this.canvas.width = bitmap.width;
      this.canvas.height = bitmap.height;
    }
    this.context.transferFromImageBitmap(bitmap);
    this.lastArrived = header.arrived;
    this.lastPaintAt = performance.now();
    this.jpeg = jpeg;
    this.painted += 1;
    this.dataset.frames = String(this.painted);
    this.rates.painted();
    this.latency = Date.now() + this.clockOffset - header.arrived;
    this.dispatchEvent(new CustomEvent("painted", { detail: { latency: this.latency, width: this.naturalWidth, height: this.naturalHeight } }));
  }
}
