// @ts-check
/**
 * Cameras and live statistics, shared by the panel and every card on a page: one store per Home
 * Assistant connection, fed by one `esp32_camera/subscribe` subscription while someone listens.
 * The store follows the connection: while it is down the data is stale (`online` false); when it
 * is back (Home Assistant restarted or the network returned) the tables are reloaded.
 */
import { DOMAIN, commandToastId, fileName, notify } from "./util.js";

/**
 * @typedef {{ index: number, key: string, name: string, width: number, height: number, risk: string }} Resolution
 * @typedef {{ type: "integer" | "boolean" | "choice" | "none", min: number | null, max: number | null,
 *   choices: string[] | null, description: string }} CommandSpec
 * @typedef {Record<string, any>} Camera a camera of `esp32_camera/cameras`
 * @typedef {Record<string, any>} Hub a hub of `esp32_camera/cameras`
 * @typedef {{ sendMessagePromise: (message: object) => Promise<any>, sendMessage: (message: object) => void,
 *   subscribeMessage: (callback: (event: any) => void, message: object,
 *     options?: { resubscribe?: boolean }) => Promise<() => Promise<void>>,
 *   addEventListener: (event: string, listener: () => void) => void,
 *   removeEventListener: (event: string, listener: () => void) => void }} Connection
 * @typedef {{ connection: Connection, language?: string, locale?: { language?: string },
 *   states: Record<string, any>, user?: { is_admin?: boolean }, services?: Record<string, any>,
 *   entities?: Record<string, any>,
 *   callService: (...args: any[]) => Promise<any>,
 *   fetchWithAuth?: (path: string, init?: object) => Promise<Response> }} Hass
 */

/** @type {WeakMap<Connection, CameraStore>} */
const stores = new WeakMap();
/** The clock offset is estimated from this many round trips after the tables load, this far apart
 * (ms): the one with the shortest round trip wins (a busy moment's long one is not believed). */
export const CLOCK_SAMPLES = 5;
const CLOCK_SAMPLE_GAP_MS = 1000;

export class CameraStore {
  /** The store of `hass`'s connection. @param {Hass} hass */
  static for(hass) {
    let store = stores.get(hass.connection);
    if (!store) {
      store = new CameraStore(hass.connection);
      stores.set(hass.connection, store);
    }
    return store;
  }

  /** @param {Connection} connection */
  constructor(connection) {
    this.connection = connection;
    /** @type {Camera[]} */
    this.cameras = [];
    /** @type {Hub[]} */
    this.hubs = [];
    /** @type {Resolution[]} */
    this.resolutions = [];
    this.defaultResolution = 0;
    /** @type {Record<string, CommandSpec>} */
    this.commands = {};
    /** @type {import("./zones.js").ZoneLimits | undefined} motion zones per camera, the server's */
    this.zoneLimits = undefined;
    this.clockOffset = 0; // hub clock minus browser clock, in ms
    this.clockUncertainty = 0; // half the round trip of that estimate, in ms
    this.clockRoundTrip = Infinity; // the round trip of that estimate (the shortest seen), in ms
    this.clockSampling = false;
    this.online = true; // the WebSocket to Home Assistant is up
    /** @type {Set<(store: CameraStore) => void>} */
    this.listeners = new Set();
    /** @type {Promise<() => Promise<void>> | null} */
    this.unsubscribe = null;
    this.loaded = false;
    /** @type {Map<string, number>} "camera command" -> when this page sent it */
    this.sent = new Map();
    this.onDisconnected = () => {
      this.online = false;
      this.clockRoundTrip = Infinity; // estimated anew once back (the hub may have restarted)
      this.unsubscribe = null; // gone with the connection (subscriptions are not resumed blindly)
      this.emit();
    };
    // Back (Home Assistant restarted, or the network returned): the integration may still be
    // loading, so load and subscribe again until it answers.
    this.onReady = () => this.resume();
  }

  /** @param {string | null | undefined} cameraId */
  camera(cameraId) {
    return this.cameras.find((camera) => camera.camera_id === cameraId);
  }

  /** Subscribe to the pushed statistics (not resumed by the connection: `resume` does it). */
  subscribe() {
    this.unsubscribe = this.connection.subscribeMessage(
      (event) => this.update(event),
      { type: `${DOMAIN}/subscribe` },
      { resubscribe: false },
    );
    return this.unsubscribe;
  }

  async resume() {
    while (this.listeners.size && !this.unsubscribe) {
      try {
        await this.load();
        await this.subscribe();
        this.online = true;
        this.emit();
        return;
      } catch {
        this.unsubscribe = null;
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  /** @param {(store: CameraStore) => void} listener */
  listen(listener) {
    this.listeners.add(listener);
    if (this.listeners.size === 1) {
      this.connection.addEventListener("disconnected", this.onDisconnected);
      this.connection.addEventListener("ready", this.onReady);
      this.load().catch((err) => console.error("esp32_camera/cameras failed", err));
      // Online once subscribed: a panel made anew after Home Assistant came back listens first
      // here, and the `resume` of the one it replaced stops once this subscription exists.
      this.subscribe()
        .then(() => {
          this.online = true;
          this.emit();
        })
        .catch((err) => console.error("esp32_camera/subscribe failed", err));
    } else if (this.loaded) {
      listener(this);
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && this.unsubscribe) {
        this.connection.removeEventListener("disconnected", this.onDisconnected);
        this.connection.removeEventListener("ready", this.onReady);
        this.unsubscribe.then((unsubscribe) => unsubscribe()).catch(() => {});
        this.unsubscribe = null;
      }
    };
  }

  /** Load the tables, and estimate the clock offset from the answer's time and round trip. */
  async load() {
    const sent = Date.now();
    const result = await this.connection.sendMessagePromise({ type: `${DOMAIN}/cameras` });
    this.clockSample(sent, Date.now(), result.now);
    this.sampleClock();
    this.resolutions = result.resolutions;
    this.defaultResolution = result.default_resolution;
    this.commands = result.commands;
    this.zoneLimits = result.zone_limits;
    this.update(result);
  }

  /**
   * One estimate of the hub's clock: its time `now` was read between `sent` and `received` (this
   * browser's clock), so the offset is known to within half the round trip. The estimate with the
   * shortest round trip is kept: under load one round trip can take hundreds of ms, and the chip
   * would then call a late frame's latency "at most" that.
   * @param {number} sent
   * @param {number} received
   * @param {number} now
   */
  clockSample(sent, received, now) {
    const roundTrip = received - sent;
    if (roundTrip > this.clockRoundTrip) return;
    this.clockRoundTrip = roundTrip;
    this.clockOffset = now - (sent + received) / 2;
    this.clockUncertainty = roundTrip / 2;
  }

  /** A few more round trips after the load, a second apart (once at a time), to refine it. */
  async sampleClock() {
    if (this.clockSampling) return;
    this.clockSampling = true;
    try {
      for (let sample = 1; sample < CLOCK_SAMPLES && this.listeners.size; sample += 1) {
        await new Promise((resolve) => setTimeout(resolve, CLOCK_SAMPLE_GAP_MS));
        const sent = Date.now();
        const result = await this.connection.sendMessagePromise({ type: `${DOMAIN}/cameras` });
        this.clockSample(sent, Date.now(), result.now);
      }
      this.emit();
    } catch {
      // Home Assistant went away: the next load samples again.
    } finally {
      this.clockSampling = false;
    }
  }

  /** @param {{ cameras: Camera[], hubs: Hub[] }} payload */
  update(payload) {
    if (!this.unsubscribe && !this.online) return; // a late answer while reconnecting
    this.cameras = payload.cameras;
    this.hubs = payload.hubs;
    this.loaded = this.resolutions.length > 0;
    this.emit();
  }

  emit() {
    if (!this.loaded) return;
    for (const listener of this.listeners) listener(this);
  }

  /** @param {Camera} camera */
  hubOf(camera) {
    return this.hubs.find((hub) => hub.entry_id === camera.entry_id);
  }

  /** Whether this page sent `command` to the camera in the last few seconds (its toast is shown). */
  sentRecently(/** @type {string} */ cameraId, /** @type {string} */ command) {
    return Date.now() - (this.sent.get(`${cameraId} ${command}`) ?? 0) < 10000;
  }

  /**
   * Send a command; return the result, or throw the error (the caller toasts once).
   * @param {Camera} camera
   * @param {string} command
   * @param {unknown} [value]
   */
  async command(camera, command, value) {
    this.sent.set(`${camera.camera_id} ${command}`, Date.now());
    /** @type {Record<string, unknown>} */
    const message = { type: `${DOMAIN}/command`, camera_id: camera.camera_id, command };
    if (value !== undefined) message.value = value;
    return this.connection.sendMessagePromise(message);
  }

  /**
   * Send commands one after the other and toast once: `label` and the outcome.
   * @param {Element} element where the toast comes from
   * @param {Camera} camera
   * @param {[string, unknown][]} commands
   * @param {string} label
   * @param {import("./util.js").Translate} t
   */
  async commandsWithToast(element, camera, commands, label, t) {
    const id = commandToastId(camera.camera_id, commands.map(([command]) => command));
    try {
      /** @type {any} */
      let result = null;
      for (const [command, value] of commands) result = await this.command(camera, command, value);
      // The camera's own answer (an echo such as "3") stays out: the control shows what it took.
      const outcome = result?.queued ? t("toast.queued") : t("toast.done");
      notify(element, t("toast.outcome", { camera: camera.name, label, outcome }), id);
      return true;
    } catch (err) {
      const reason = /** @type {any} */ (err)?.message || /** @type {any} */ (err)?.code || err;
      notify(element, t("toast.failed", { camera: camera.name, label, reason: String(reason) }), id);
      return false;
    }
  }

  /**
   * @param {Element} element
   * @param {Camera} camera
   * @param {boolean} enabled
   * @param {import("./util.js").Translate} t
   */
  async setSaver(element, camera, enabled, t) {
    try {
      await this.connection.sendMessagePromise({
        type: `${DOMAIN}/saver`,
        camera_id: camera.camera_id,
        enabled,
      });
      notify(element, t(enabled ? "toast.saving_on" : "toast.saving_off", { camera: camera.name }));
    } catch (err) {
      notify(element, t("toast.saving_failed", { camera: camera.name, reason: String(/** @type {any} */ (err)?.message || err) }));
    }
  }

  /**
   * @param {Element} element
   * @param {Hass} hass
   * @param {Camera} camera
   * @param {import("./util.js").Translate} t
   */
  async saveNow(element, hass, camera, t) {
    try {
      const answer = await hass.callService(DOMAIN, "snapshot", {}, { entity_id: camera.entity_id }, false, true);
      const saved = answer?.response?.[camera.entity_id];
      // The file's name: where the server keeps it is no news to the user (and not a member's).
      notify(element, t("toast.saved", { camera: camera.name, path: fileName(saved?.path) }));
      return saved;
    } catch (err) {
      notify(element, t("toast.save_failed", { camera: camera.name, reason: String(/** @type {any} */ (err)?.message || err) }));
      return null;
    }
  }
}
