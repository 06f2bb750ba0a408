// @ts-check
/**
 * How pictures reach the page: a card's picture is the browser's own MJPEG stream while the page
 * has one to spare, every other live picture (the panel's, cards beyond those) comes over one
 * binary WebSocket per page (per Home Assistant connection; `/api/esp32_camera/frames`,
 * views/frame_socket.py).
 *
 * - MJPEG: an `<img>` of the camera entity's `camera_proxy_stream` (what Home Assistant's picture
 *   cards show, the cheapest way for the browser: no script per frame). The browser opens at most
 *   six HTTP/1.1 connections per host and each stream holds one, so a page holds at most
 *   MJPEG_STREAMS_PER_PAGE; its path is signed once, when it opens, so the entities' access
 *   tokens (changed every 5 minutes) never end it.
 * - The frame socket's path is signed through Home Assistant's `auth/sign_path` just before it
 *   opens, and again for each reconnection: the access tokens and the page's own token refreshes
 *   never matter, and the page holds one connection whatever the number of cameras.
 * - Each camera shown over the socket is a channel: `watch` when the first picture of it wants
 *   frames, `unwatch` when the last leaves (out of view, hidden page). A frame is one binary
 *   message (a 20-byte header, then the JPEG as the camera sent it), handed to every picture of
 *   that camera; once all of them painted it, an `ack` lets the server send the next. The server
 *   keeps at most four unacknowledged per channel and only the newest waiting: each camera at its
 *   own rate, as fast as this page paints, never a backlog.
 */
import { DOMAIN, signedUrl } from "./util.js";

export const FRAME_SOCKET_PATH = `/api/${DOMAIN}/frames`;
/** The header's layout (views/frame_socket.py HEADER: "<BBHIdHH"). */
const HEADER_VERSION = 1;
/** Reconnection delays (ms): from the first to the longest, doubling. */
const RETRY_FIRST_MS = 500;
const RETRY_LONGEST_MS = 4000;
/** The server refused another socket of this user (too many pages open): try again later. */
const CLOSE_TOO_MANY_SOCKETS = 4429;
const TOO_MANY_RETRY_MS = 15000;
/** A socket nobody uses is closed after this long (a page switching views keeps it). */
const IDLE_CLOSE_MS = 10000;

/**
 * @typedef {{ channel: number, sequence: number, arrived: number, width: number, height: number }} FrameHeader
 * @typedef {{ paint: (jpeg: Uint8Array, header: FrameHeader) => Promise<void>,
 *   refused?: (code: string, message: string) => void }} FrameSink
 *   a picture of a camera: `paint` resolves once the frame is on its canvas (or was skipped)
 * @typedef {{ camera_id: string, entry_id?: string }} CameraRef
 * @typedef {{ key: string, camera: CameraRef, channel: number, sinks: Set<FrameSink>, refused: boolean }} Watch
 */

/**
 * Parse a frame message: its header, and the JPEG (a view of the message: no copy, and no Blob,
 * whose bytes Chromium would copy to the browser process and back).
 * @param {ArrayBuffer} data
 * @returns {{ header: FrameHeader, jpeg: Uint8Array } | null} null for a message of an unknown version
 */
export function parseFrame(data) {
  if (data.byteLength < 20) return null;
  const view = new DataView(data);
  const version = view.getUint8(0);
  const length = view.getUint8(1);
  if (version !== HEADER_VERSION || length < 20 || length > data.byteLength) return null;
  return {
    header: {
      channel: view.getUint16(2, true),
      sequence: view.getUint32(4, true),
      arrived: view.getFloat64(8, true),
      width: view.getUint16(16, true),
      height: view.getUint16(18, true),
    },
    jpeg: new Uint8Array(data, length),
  };
}

/**
 * The MJPEG streams one page may hold: of the browser's six connections per host, two stay free
 * for Home Assistant (a more-info dialog's own stream, the page's requests).
 */
export const MJPEG_STREAMS_PER_PAGE = 4;
let mjpegStreams = 0;

/** Whether the page has an MJPEG stream to spare. */
export function mjpegStreamFree() {
  return mjpegStreams < MJPEG_STREAMS_PER_PAGE;
}

/**
 * Take one of the page's MJPEG streams.
 * @returns {(() => void) | null} how to give it back (once), or null when none is free
 */
export function takeMjpegStream() {
  if (mjpegStreams >= MJPEG_STREAMS_PER_PAGE) return null;
  mjpegStreams += 1;
  let held = true;
  return () => {
    if (held) mjpegStreams -= 1;
    held = false;
  };
}

/** @type {WeakMap<object, FrameSocket>} */
const sockets = new WeakMap();

/** The page's frame socket (one per Home Assistant connection) and its channels. */
export class FrameSocket {
  /**
   * The frame socket of `hass`'s connection.
   * @param {import("./store.js").Hass} hass
   */
  static for(hass) {
    let socket = sockets.get(hass.connection);
    if (!socket) {
      socket = new FrameSocket(hass);
      sockets.set(hass.connection, socket);
    }
    socket.hass = hass;
    return socket;
  }

  /** @param {import("./store.js").Hass} hass */
  constructor(hass) {
    this.hass = hass;
    /** @type {WebSocket | null} */
    this.socket = null;
    this.open = false;
    this.connecting = false;
    /** @type {Map<string, Watch>} by camera */
    this.watches = new Map();
    /** @type {Map<number, Watch>} by channel */
    this.channels = new Map();
    this.nextChannel = 1;
    this.retryMs = RETRY_FIRST_MS;
    this.retryTimer = 0;
    this.idleTimer = 0;
    this.hubsKey = "";
    this.attempt = 0;
    /** Frames received, for the page's statistics and tests. */
    this.received = 0;
    // Home Assistant is back (a restart, the network): connect now, not after the backoff.
    hass.connection.addEventListener("ready", () => {
      this.retryMs = RETRY_FIRST_MS;
      if (this.socket) return;
      this.connecting = false; // an attempt made while it was away is abandoned below
      this.connect();
    });
  }

  /**
   * Send `camera`'s frames to `sink` until the returned function is called.
   * @param {CameraRef} camera
   * @param {FrameSink} sink
   * @returns {() => void} stop
   */
  watch(camera, sink) {
    const key = `${camera.entry_id ?? ""}/${camera.camera_id}`;
    let watch = this.watches.get(key);
    if (!watch) {
      watch = { key, camera, channel: this.nextChannel, sinks: new Set(), refused: false };
      this.nextChannel = (this.nextChannel % 0xffff) + 1;
      this.watches.set(key, watch);
      this.channels.set(watch.channel, watch);
      this.send({ type: "watch", channel: watch.channel, ...this.target(camera) });
    }
    watch.sinks.add(sink);
    clearTimeout(this.idleTimer);
    this.connect();
    const current = watch;
    return () => {
      if (!current.sinks.delete(sink) || current.sinks.size) return;
      this.watches.delete(current.key);
      this.channels.delete(current.channel);
      this.send({ type: "unwatch", channel: current.channel });
      if (!this.watches.size) {
        clearTimeout(this.idleTimer);
        this.idleTimer = window.setTimeout(() => this.close(), IDLE_CLOSE_MS);
      }
    };
  }

  /**
   * The loaded hubs changed (one reloaded, Home Assistant restarted): watch every camera again,
   * so that each channel follows the hub that now has its camera.
   * @param {string} key
   */
  hubsChanged(key) {
    if (key === this.hubsKey) return;
    const first = !this.hubsKey;
    this.hubsKey = key;
    if (!this.open && !first) {
      // The integration answers again (Home Assistant restarted): the socket's route is back.
      this.retryMs = RETRY_FIRST_MS;
      if (!this.socket && !this.connecting) this.connect();
      return;
    }
    if (first || !this.open) return;
    for (const watch of this.watches.values()) {
      watch.refused = false;
      this.send({ type: "watch", channel: watch.channel, ...this.target(watch.camera) });
    }
  }

  /** @param {CameraRef} camera */
  target(camera) {
    return camera.entry_id ? { camera_id: camera.camera_id, entry_id: camera.entry_id } : { camera_id: camera.camera_id };
  }

  /** @param {object} message */
  send(message) {
    if (this.open && this.socket) this.socket.send(JSON.stringify(message));
  }

  async connect() {
    if (this.socket || this.connecting || !this.watches.size) return;
    this.connecting = true;
    const attempt = (this.attempt += 1);
    clearTimeout(this.retryTimer);
    try {
      // Signed now, used at once: the signature only has to be valid when the socket opens.
      const url = await signedUrl(this.hass, FRAME_SOCKET_PATH);
      if (attempt !== this.attempt || this.socket || !this.watches.size) return;
      url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
      const socket = new WebSocket(url.href);
      socket.binaryType = "arraybuffer";
      this.socket = socket;
      socket.onopen = () => {
        this.open = true;
        this.retryMs = RETRY_FIRST_MS;
        for (const watch of this.watches.values()) {
          watch.refused = false;
          this.send({ type: "watch", channel: watch.channel, ...this.target(watch.camera) });
        }
      };
      socket.onmessage = (event) => this.onMessage(event.data);
      socket.onclose = (event) => {
        if (this.socket !== socket) return;
        this.socket = null;
        this.open = false;
        this.retry(event.code === CLOSE_TOO_MANY_SOCKETS ? TOO_MANY_RETRY_MS : this.retryMs);
      };
    } catch {
      // Home Assistant is away (restarting): the next attempt signs again.
      if (attempt === this.attempt) this.retry(this.retryMs);
    } finally {
      if (attempt === this.attempt) this.connecting = false;
    }
  }

  /** @param {number} delay */
  retry(delay) {
    clearTimeout(this.retryTimer);
    if (!this.watches.size) return;
    this.retryTimer = window.setTimeout(() => this.connect(), delay);
    this.retryMs = Math.min(RETRY_LONGEST_MS, this.retryMs * 2);
  }

  close() {
    if (this.watches.size) return;
    clearTimeout(this.retryTimer);
    const socket = this.socket;
    this.socket = null;
    this.open = false;
    socket?.close(1000);
  }

  /** @param {ArrayBuffer | string} data */
  onMessage(data) {
    if (typeof data === "string") {
      const message = JSON.parse(data);
      const watch = this.channels.get(message.channel);
      if (message.type === "error" && watch) {
        watch.refused = true;
        for (const sink of watch.sinks) sink.refused?.(message.code, message.message);
      }
      return;
    }
    const frame = parseFrame(data);
    if (!frame) return;
    this.received += 1;
    const { header, jpeg } = frame;
    const watch = this.channels.get(header.channel);
    if (!watch) return; // unwatched meanwhile: nothing to acknowledge (the server forgot it)
    const socket = this.socket;
    Promise.all([...watch.sinks].map((sink) => sink.paint(jpeg, header).catch((err) => console.error("esp32_camera: a frame was not painted", err)))).then(() => {
      // Acknowledged on the socket it came from, and only while the channel is the same one.
      if (socket === this.socket && this.channels.get(header.channel) === watch) this.send({ type: "ack", channel: header.channel });
    });
  }
}
