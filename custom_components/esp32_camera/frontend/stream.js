// @ts-check
/**
 * The two ways pictures reach the page.
 *
 * - The selected camera's video (panel and card) is Home Assistant's authenticated MJPEG stream of
 *   its camera entity in an <img>; the server ends each part at once for an image load, so each
 *   frame is painted when it arrives. Its URL carries the entity's access token, which changes when
 *   Home Assistant restarts: the URL is recomputed from every new `hass`.
 * - The grid's frames arrive over the one Home Assistant WebSocket (`subscribe_frames`, base64
 *   JPEG). Each painted frame is acknowledged at once, and the server keeps only a few frames
 *   unacknowledged per browser: the rate follows what this browser paints, with no fixed cap.
 */
import { DOMAIN } from "./util.js";

/** The highest rate the server sends one camera's grid frames at (its MAX_FRAME_RATE). */
const GRID_MAX_FPS = 15;
/** The painted rate is counted over this window (ms). */
const RATE_WINDOW_MS = 2000;

/**
 * The MJPEG URL of `camera`'s entity for `hass`, or null without an entity or token.
 * @param {import("./store.js").Hass} hass
 * @param {import("./store.js").Camera} camera
 */
export function streamUrl(hass, camera) {
  const state = camera.entity_id ? hass.states[camera.entity_id] : undefined;
  const token = state?.attributes?.access_token;
  if (!token) return null;
  return `/api/camera_proxy_stream/${camera.entity_id}?token=${encodeURIComponent(token)}`;
}

/**
 * @typedef {{ camera_id: string, arrived: number | null, width: number, height: number,
 *   subscription: number, jpeg: string }} GridFrame
 */

/** Frames painted per second, per camera, over the last RATE_WINDOW_MS. */
export class PaintedRate {
  constructor() {
    /** @type {Map<string, number[]>} */
    this.times = new Map();
  }

  /** @param {string} cameraId */
  painted(cameraId) {
    const now = performance.now();
    const times = this.times.get(cameraId) ?? [];
    times.push(now);
    while (times.length && times[0] < now - RATE_WINDOW_MS) times.shift();
    this.times.set(cameraId, times);
  }

  /** @param {string} cameraId */
  rate(cameraId) {
    const now = performance.now();
    const times = (this.times.get(cameraId) ?? []).filter((time) => time >= now - RATE_WINDOW_MS);
    return (times.length * 1000) / RATE_WINDOW_MS;
  }
}

/** One subscription carrying every grid tile's frames, each acknowledged once painted. */
export class FrameFeed {
  /**
   * @param {(cameraId: string) => HTMLImageElement | undefined} imageOf where a camera's frames go
   * @param {(frame: GridFrame) => void} onPainted called once a frame is on screen
   */
  constructor(imageOf, onPainted) {
    this.imageOf = imageOf;
    this.onPainted = onPainted;
    /** @type {Promise<() => Promise<void>> | null} */
    this.stopFeed = null;
    this.key = "";
    this.generation = 0;
    /** @type {import("./store.js").Connection | null} */
    this.connection = null;
    this.rates = new PaintedRate();
  }

  /**
   * Subscribe (again when `key`, the loaded hubs, changed: a hub reloaded or HA restarted).
   * @param {import("./store.js").Connection} connection
   * @param {string} key
   */
  follow(connection, key) {
    if (this.key === key && this.connection === connection) return;
    this.stop();
    this.key = key;
    this.connection = connection;
    // Frames of a replaced subscription still decoding must not be acknowledged: it is gone.
    const generation = (this.generation += 1);
    this.stopFeed = connection.subscribeMessage(
      (frame) => this.show(frame, generation),
      { type: `${DOMAIN}/subscribe_frames`, max_fps: GRID_MAX_FPS },
      { resubscribe: false }, // after a reconnect the panel subscribes anew, once the hubs are back
    );
    this.stopFeed.catch((err) => console.error("esp32_camera/subscribe_frames failed", err));
  }

  stop() {
    this.stopFeed?.then((unsubscribe) => unsubscribe()).catch(() => {});
    this.drop();
  }

  /** Forget the subscription without unsubscribing: it went with the connection. */
  drop() {
    this.stopFeed = null;
    this.key = "";
    this.generation += 1;
  }

  /** @param {GridFrame} frame @param {number} generation */
  show(frame, generation) {
    const acknowledge = () => {
      if (generation !== this.generation || !this.connection) return;
      this.connection.sendMessage({ type: `${DOMAIN}/frames_ack`, subscription: frame.subscription });
    };
    const img = this.imageOf(frame.camera_id);
    if (!img) {
      acknowledge();
      return;
    }
    // A data: URL is decoded in the page's process; a blob: URL would be fetched through the
    // browser process first (measured: about 20 ms more per frame).
    img.src = `data:image/jpeg;base64,${frame.jpeg}`;
    img
      .decode()
      .catch(() => {})
      .then(() => {
        acknowledge();
        this.rates.painted(frame.camera_id);
        this.onPainted(frame);
      });
  }
}
