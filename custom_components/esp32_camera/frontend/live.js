// @ts-check
/**
 * `<esp32-camera-live>`: one camera's live picture in an <img>, by one of the two ways of
 * stream.js.
 *
 * - With attribute `mjpeg` (a card's picture) it shows the camera entity's MJPEG stream while the
 *   page has one to spare: the browser loads and paints every part itself, as in Home Assistant's
 *   picture cards, which costs it the least per frame. No script runs per frame, so such a
 *   picture has no painted counter and no latency. Frozen, it shows a still of the camera (and
 *   gives its stream back). The stream is opened again when its hub restarts, its camera
 *   reconnects, its entity appears or becomes available, or the page reconnects to Home
 *   Assistant; one that shows nothing for MJPEG_START_MS gives way to the frame socket for
 *   MJPEG_RETRY_MS, one refused or broken for MJPEG_REFUSED_RETRY_MS (doubling at each refusal),
 *   and a picture on the socket takes a stream when one is free again.
 * - Otherwise each JPEG of the page's frame socket becomes a `data:` URL of the <img>, as an MJPEG
 *   <img> takes each part: Chromium loads a data URL inside the page (no Blob registered with, and
 *   its bytes copied to and back from, the browser process, which cost 1.4x the CPU of HA's MJPEG
 *   cards per painted frame) and decodes it when it paints, at the size it is shown (a tile
 *   decodes a scaled-down JPEG). After each frame is loaded it fires `painted` (detail: `latency`
 *   from the hub's arrival to then, ms, with the store's clock offset; `width`, `height` of the
 *   frame), counts it (`data-frames`) and keeps the painted rate and the last JPEG.
 *   docs/performance.md has the measurements behind both ways.
 * - It wants frames only while it is on screen: out of view (IntersectionObserver, which also sees
 *   a tile scrolled out of its strip), on a hidden page or while `paused` (the viewer's freeze), it
 *   stops, and the server sends it nothing. `data-way` says which way it shows (`mjpeg`, `socket`).
 * - The <img> is scaled with `object-fit: contain` (or `cover`), so overlays that follow the
 *   frame's aspect ratio line up; attribute `natural` shows it at the frame's size.
 */
import { FrameSocket, mjpegStreamFree, takeMjpegStream } from "./stream.js";
import { signedUrl } from "./util.js";

/**
 * @typedef {{ open: boolean, shown: boolean, url: string, timer: number }} Stream an MJPEG stream
 *   shown: `url` once signed, `shown` once its first part is, `timer` the watchdog of MJPEG_START_MS
 */

/** The painted rate is counted over this window (ms). */
const RATE_WINDOW_MS = 2000;
/** Bytes turned into base64 text per call where the browser lacks Uint8Array.toBase64. */
const BASE64_CHUNK = 0x8000;
/** A tile starts receiving a little before it scrolls into view (px around the viewport). */
const VIEW_MARGIN = "64px";
/**
 * An MJPEG stream that shows nothing this long (ms) is given up for the frame socket: it waits for
 * a connection (the browser's six per host are shared with the page's other tabs) or never came.
 */
const MJPEG_START_MS = 10000;
/** After a stream stalled, the socket shows the camera at least this long (ms) before a retry. */
const MJPEG_RETRY_MS = 60000;
/**
 * After a stream was refused or broke (an error, quickly: Home Assistant starting or restarting),
 * the first retry comes this soon (ms), each next one twice as late, up to MJPEG_RETRY_MS.
 */
const MJPEG_REFUSED_RETRY_MS = 5000;

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
    this.picture.addEventListener("load", () => (this.way === "mjpeg" ? this.streamLoaded() : this.loaded(true)));
    this.picture.addEventListener("error", () => (this.way === "mjpeg" ? this.streamFailed(this.stream) : this.loaded(false)));
    root.append(style, this.picture);
    /** The frame being loaded into the picture, and how to tell its sender it is done.
     * @type {{ jpeg: Uint8Array, header: import("./stream.js").FrameHeader, done: () => void } | null} */
    this.loading = null;
    /** @type {import("./store.js").Hass | undefined} */
    this.hass = undefined;
    /** @type {import("./stream.js").CameraRef | null} */
    this.camera = null;
    this.cameraKey = "";
    this.entityId = "";
    /** How the picture is shown now: "mjpeg", "socket" or "" (not yet). */
    this.way = "";
    /**
     * The camera entity, whether Home Assistant has it (available), its hub's start, whether the
     * camera is connected and the page's reconnections to Home Assistant: an MJPEG stream is
     * opened again when it changes (a stream that broke may not say so; one refused while Home
     * Assistant was starting, before the entity was added, is tried again once it is there).
     */
    this.streamKey = "";
    this.watchingStream = "";
    this.reconnections = 0;
    this.online = true;
    /** The stream key whose MJPEG stream failed, and when another may be tried regardless. */
    this.mjpegFailed = "";
    this.mjpegRetryAt = 0;
    /** Streams refused since one was last shown (the retries' backoff). */
    this.mjpegRefusals = 0;
    /** @type {Stream | null} the MJPEG stream being shown */
    this.stream = null;
    /** @type {Blob | null} a frozen MJPEG picture's still, as the camera sent it */
    this.stillBlob = null;
    this.stillUrl = "";
    /** A frozen stream goes on until its still is there (it is the picture shown meanwhile). */
    this.freezing = false;
    this.freezes = 0;
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
    this.frameWidth = 0;
    this.frameHeight = 0;
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
    this.dropStill();
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
      this.mjpegFailed = "";
      this.dropStill();
      this.lastArrived = 0;
      this.latency = null;
      this.refusal = null;
      this.lastJpeg = null; // the old camera's picture is not this one's
      this.loading?.done(); // nor its frame still loading
      this.loading = null;
      this.frameWidth = this.frameHeight = 0;
    }
    this.entityId = camera.entity_id ?? "";
    if (store.online && !this.online) this.reconnections += 1;
    this.online = store.online;
    if (store.online) {
      FrameSocket.for(hass).hubsChanged(store.hubs.map((hub) => `${hub.entry_id}@${hub.started_at}`).join());
      const entity = hass.states[this.entityId];
      const entityReady = Boolean(entity) && entity.state !== "unavailable";
      this.streamKey = [this.entityId, entityReady, store.hubOf(camera)?.started_at, camera.connected, this.reconnections].join("|");
    }
    this.update();
  }

  /** The shown frame's width (0 before the first); an MJPEG stream's follows its parts. */
  get naturalWidth() {
    return this.way === "mjpeg" ? this.picture.naturalWidth : this.frameWidth;
  }

  /** The shown frame's height (0 before the first). */
  get naturalHeight() {
    return this.way === "mjpeg" ? this.picture.naturalHeight : this.frameHeight;
  }

  /** Whether a picture of this camera is shown (one to capture or freeze). */
  get hasPicture() {
    return this.way === "mjpeg" ? Boolean(this.stream?.shown || this.stillBlob) : Boolean(this.lastJpeg);
  }

  /**
   * The picture as the camera sent it, for a capture: the last painted frame, the frozen still,
   * or (an MJPEG stream, whose parts the page never sees) the camera's newest; null without one.
   * @returns {Promise<Blob | null>}
   */
  async still() {
    if (this.stillBlob) return this.stillBlob;
    if (this.way === "mjpeg") return this.stream?.shown ? this.fetchStill() : null;
    return this.lastJpeg && new Blob([/** @type {Uint8Array<ArrayBuffer>} */ (this.lastJpeg)], { type: "image/jpeg" });
  }

  /** The camera's newest frame from Home Assistant (`camera_proxy`), or null. @returns {Promise<Blob | null>} */
  async fetchStill() {
    if (!this.hass?.fetchWithAuth || !this.entityId) return null;
    try {
      const response = await this.hass.fetchWithAuth(`/api/camera_proxy/${this.entityId}`);
      return response.ok ? await response.blob() : null;
    } catch {
      return null; // Home Assistant away: nothing to show
    }
  }

  /** Whether painting stops (the last picture stays; nothing is received meanwhile). */
  get paused() {
    return this._paused;
  }

  set paused(paused) {
    if (paused === this._paused) return;
    this._paused = paused;
    this.freezing = false;
    this.freezes += 1;
    if (paused && this.way === "mjpeg" && this.stopWatching) {
      this.freezeStream(this.freezes);
      return;
    }
    if (!paused) this.dropStill();
    this.update();
  }

  /**
   * Frozen while streaming: the camera's still replaces the stream, which is given back (without
   * one, Home Assistant away, the picture is left empty).
   * @param {number} freeze
   */
  async freezeStream(freeze) {
    this.freezing = true;
    const still = await this.fetchStill();
    if (freeze !== this.freezes) return; // thawed (or frozen again) meanwhile
    this.freezing = false;
    this.dropStill();
    if (still) {
      this.stillBlob = still;
      this.stillUrl = URL.createObjectURL(still);
      this.picture.src = this.stillUrl; // also where the stream already stopped (out of view)
    }
    this.update();
  }

  dropStill() {
    if (this.stillUrl) URL.revokeObjectURL(this.stillUrl);
    this.stillUrl = "";
    this.stillBlob = null;
  }

  /** Frames painted per second, lately. */
  paintedRate() {
    return this.rates.rate();
  }

  /**
   * Receive while shown, on screen, on a visible page and not paused; stop otherwise. A picture
   * that may stream MJPEG chooses its way again when its camera's hub restarts.
   */
  update() {
    const shown = Boolean(this.isConnected && this.camera && this.hass && this.inView && !document.hidden);
    const wanted = shown && (!this._paused || this.freezing);
    const mjpeg = this.hasAttribute("mjpeg") && Boolean(this.entityId);
    const mayStream = mjpeg && (this.mjpegFailed !== this.streamKey || Date.now() >= this.mjpegRetryAt);
    const stale =
      this.watchingKey !== this.cameraKey ||
      (mjpeg && this.watchingStream !== this.streamKey) ||
      (this.way === "socket" && mayStream && mjpegStreamFree()); // a stream to spare now
    if (this.stopWatching && (!wanted || stale)) {
      this.stopWatching();
      this.stopWatching = null;
    }
    if (wanted && !this.stopWatching && this.hass && this.camera) {
      this.watchingKey = this.cameraKey;
      this.watchingStream = this.streamKey;
      const release = mayStream ? takeMjpegStream() : null;
      this.stopWatching = release ? this.openStream(this.hass, release) : this.watchSocket(this.hass, this.camera);
    }
  }

  /** @param {string} way */
  setWay(way) {
    if (way === this.way) return;
    this.way = way;
    this.dataset.way = way;
    // What the other way showed is not this one's picture, nor a frame it was loading.
    this.loading?.done();
    this.loading = null;
    this.lastJpeg = null;
    this.frameWidth = this.frameHeight = 0;
  }

  /**
   * Paint the frames of the page's frame socket.
   * @param {import("./store.js").Hass} hass
   * @param {import("./stream.js").CameraRef} camera
   */
  watchSocket(hass, camera) {
    this.setWay("socket");
    return FrameSocket.for(hass).watch(camera, this.sink);
  }

  /**
   * Show the camera entity's MJPEG stream, holding one of the page's; returns how to stop it.
   * @param {import("./store.js").Hass} hass
   * @param {() => void} release
   */
  openStream(hass, release) {
    this.setWay("mjpeg");
    /** @type {Stream} */
    const stream = { open: true, shown: false, url: "", timer: 0 };
    this.stream = stream;
    stream.timer = window.setTimeout(() => this.streamFailed(stream, true), MJPEG_START_MS);
    signedUrl(hass, `/api/camera_proxy_stream/${this.entityId}`).then(
      (url) => {
        if (!stream.open) return;
        stream.url = url.href;
        this.picture.src = url.href;
      },
      () => this.streamFailed(stream),
    );
    return () => {
      stream.open = false;
      clearTimeout(stream.timer);
      if (this.stream === stream) this.stream = null;
      // Another source ends the stream's connection: the frozen still, else none (out of view).
      if (!this.stillUrl) this.picture.removeAttribute("src");
      else if (this.picture.src !== this.stillUrl) this.picture.src = this.stillUrl;
      release();
    };
  }

  /** The stream's first part is shown (an <img> fires no more loads for the parts after it). */
  streamLoaded() {
    const stream = this.stream;
    if (!stream?.open || stream.shown || this.picture.src !== stream.url) return; // another source's
    stream.shown = true;
    this.mjpegRefusals = 0;
    clearTimeout(stream.timer);
    this.picture.className = "";
    this.latency = null; // the page never sees a part arrive: nothing to measure
    this.dispatchEvent(new CustomEvent("painted", { detail: { latency: null, width: this.naturalWidth, height: this.naturalHeight } }));
  }

  /**
   * The stream was refused, broke or stalled: the frame socket shows this camera until the stream
   * key changes or the retry is due (a stall costs a picture standing still, so it waits longest).
   * @param {Stream | null} stream
   * @param {boolean} [stalled] nothing came for MJPEG_START_MS
   */
  streamFailed(stream, stalled = false) {
    if (!stream?.open || stream !== this.stream || (stream.url && this.picture.src !== stream.url)) return;
    this.mjpegFailed = this.streamKey;
    const refusedWait = MJPEG_REFUSED_RETRY_MS * 2 ** this.mjpegRefusals;
    this.mjpegRetryAt = Date.now() + (stalled ? MJPEG_RETRY_MS : Math.min(refusedWait, MJPEG_RETRY_MS));
    if (!stalled) this.mjpegRefusals += 1;
    this.stopWatching?.();
    this.stopWatching = null;
    this.update();
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
    this.frameWidth = header.width || this.picture.naturalWidth;
    this.frameHeight = header.height || this.picture.naturalHeight;
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
