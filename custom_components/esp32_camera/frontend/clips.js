// @ts-check
/**
 * The selected camera's recorded clips: a list (newest first, thumbnail, start, duration, reason)
 * and a player. A clip plays in Home Assistant's dialog as the hub's MJPEG replay in an <img>
 * (`/api/esp32_camera/clip/...`, signed): every clip plays, at its recorded pace, with no video
 * codec in the browser. Closing the dialog is the way back to the live view. The list is read when
 * the camera changes, on refresh, and when the camera's pushed payload says a clip or its MP4 was
 * written (its `clips` figures): never on a timer.
 */
import { CSS } from "./styles.js";
import { DOMAIN, formatBytes, formatDuration, formatTime, h, icon } from "./util.js";
import { localeOf, translator } from "./i18n.js";

/** Clips listed in the panel (the newest). */
const CLIPS_SHOWN = 12;

/**
 * @typedef {{ name: string, started_at: string, reason: string, frames: number | null,
 *   duration: number | null, width: number | null, height: number | null, size: number | null,
 *   replay_url: string | null, video_url: string | null, thumbnail_url: string | null }} Clip
 */

export class Esp32CameraClips extends HTMLElement {
  constructor() {
    super();
    this.attachShadow({ mode: "open" });
    /** What the list was last read for: the hub's start and the camera's clips and MP4s written. */
    this.figure = "";
    this.loading = false;
    this.readAgain = false; // the figure changed while the list was being read
    /** @type {Clip[]} */
    this.clips = [];
    /** @type {import("./store.js").Hass | undefined} */
    this._hass = undefined;
    /** @type {import("./store.js").Camera | undefined} */
    this.camera = undefined;
    this.list = h("div", { class: "clips" });
    this.note = h("div", { class: "muted small" });
    this.recordingText = h("span");
    this.recording = h("div", { class: "recording small", hidden: true }, icon("record-rec"), this.recordingText);
    this.shadowRoot?.append(
      h(
        "style",
        {},
        CSS,
        `
        .clips { display: flex; flex-direction: column; gap: 4px; }
        button.clip {
          display: grid; grid-template-columns: 96px 1fr; align-items: center; gap: 12px; width: 100%;
          font: inherit; color: var(--primary-text-color); text-align: left; cursor: pointer;
          background: transparent; border: none; border-radius: 8px; padding: 4px;
        }
        button.clip:hover { background: rgba(var(--rgb-primary-color, 3, 169, 244), 0.08); }
        button.clip:disabled { cursor: default; opacity: 0.6; }
        .thumb {
          width: 96px; aspect-ratio: 4 / 3; border-radius: 6px; overflow: hidden; display: flex;
          align-items: center; justify-content: center; background: var(--secondary-background-color);
          color: var(--secondary-text-color);
        }
        .thumb img { width: 100%; height: 100%; object-fit: cover; display: block; }
        .when { font-size: 14px; }
        .what { font-size: 12px; color: var(--secondary-text-color); }
        .clip-player .stage { background: #000; display: flex; justify-content: center; }
        .clip-player img.replay { width: 100%; height: auto; max-height: 70vh; object-fit: contain; display: block; }
        .clip-player .details { color: var(--secondary-text-color); font-size: 13px; margin-top: 8px; }
        .recording { display: flex; align-items: center; gap: 4px; color: var(--error-color, #db4437); margin-bottom: 4px; }
        .recording[hidden] { display: none; }
      `,
      ),
      this.recording,
      this.list,
      this.note,
    );
  }

  get t() {
    return translator(this._hass);
  }

  /**
   * Show `camera`'s clips; read the list when the camera changed or its clip figures did.
   * @param {import("./store.js").Hass} hass
   * @param {import("./store.js").CameraStore} store
   * @param {import("./store.js").Camera} camera
   */
  show(hass, store, camera) {
    const changed = this.camera?.camera_id !== camera.camera_id;
    this._hass = hass;
    this.camera = camera;
    if (changed) {
      this.clips = [];
      this.render(null);
    }
    const figures = camera.clips ?? {};
    this.recording.hidden = !figures.recording;
    this.recordingText.textContent = this.t("clips.recording");
    // The counts start again with the hub: its start is part of what was read.
    const figure = `${store.hubOf(camera)?.started_at} ${figures.written} ${figures.converted}`;
    if (store.online && (changed || figure !== this.figure)) {
      this.figure = figure;
      this.load();
    }
  }

  async load() {
    if (!this.camera || !this._hass) return;
    if (this.loading) {
      this.readAgain = true;
      return;
    }
    this.loading = true;
    const cameraId = this.camera.camera_id;
    try {
      const result = await this._hass.connection.sendMessagePromise({ type: `${DOMAIN}/clips`, camera_id: cameraId, limit: CLIPS_SHOWN });
      if (cameraId !== this.camera.camera_id) return;
      this.clips = result.clips;
      this.render(null, result.total);
    } catch (err) {
      this.render(String(/** @type {any} */ (err)?.message || err));
    } finally {
      this.loading = false;
      if (this.readAgain) {
        this.readAgain = false;
        this.load();
      }
    }
  }

  /** @param {string | null} error @param {number} [total] */
  render(error, total = this.clips.length) {
    const t = this.t;
    const locale = localeOf(this._hass);
    this.note.textContent = error
      ? t("clips.failed", { reason: error })
      : !this.clips.length
        ? t("clips.empty")
        : total > this.clips.length
          ? t("clips.more", { shown: this.clips.length, total })
          : "";
    this.note.hidden = !this.note.textContent;
    this.list.replaceChildren(
      ...this.clips.map((clip) =>
        h(
          "button",
          {
            class: "clip",
            "data-name": clip.name,
            disabled: !clip.replay_url,
            title: clip.replay_url ? t("clips.play_title") : t("clips.damaged"),
            onclick: () => this.play(clip),
          },
          h("span", { class: "thumb" }, clip.thumbnail_url ? h("img", { src: clip.thumbnail_url, alt: "", loading: "lazy", decoding: "async" }) : h("ha-icon", { icon: "mdi:filmstrip" })),
          h("span", {}, h("div", { class: "when" }, formatTime(clip.started_at, locale)), h("div", { class: "what" }, this.describe(clip))),
        ),
      ),
    );
  }

  /** "Motion · 12 s · 640×480" @param {Clip} clip */
  describe(clip) {
    const t = this.t;
    const key = `clips.reason.${clip.reason}`;
    const reason = t(key) === key ? clip.reason : t(key);
    if (clip.duration === null) return `${reason} · ${t("clips.damaged")}`;
    const size = clip.width ? ` · ${clip.width}×${clip.height}` : "";
    return `${reason} · ${formatDuration(Math.round(clip.duration), t)}${size}`;
  }

  /** Play `clip` in Home Assistant's dialog; closing it goes back to the live view. @param {Clip} clip */
  play(clip) {
    if (!clip.replay_url || !this.camera) return;
    const t = this.t;
    const locale = localeOf(this._hass);
    const title = t("clips.player_title", { camera: this.camera.name, time: formatTime(clip.started_at, locale) });
    const replay = () => h("img", { class: "replay", src: clip.replay_url, alt: title });
    const stage = h("div", { class: "stage" }, replay());
    const details = [this.describe(clip), clip.frames === null ? null : t("clips.frames", { frames: clip.frames }), clip.size === null ? null : formatBytes(clip.size, locale)];
    const dialog = h(
      "ha-dialog",
      { open: true, headerTitle: title, "header-title": title, width: "large", class: "clip-player" },
      stage,
      h("div", { class: "details" }, details.filter(Boolean).join(" · ")),
      h(
        "ha-dialog-footer",
        { slot: "footer" },
        h(
          "ha-button",
          { slot: "secondaryAction", appearance: "plain", class: "replay-again", onclick: () => stage.replaceChildren(replay()) },
          h("ha-icon", { slot: "start", icon: "mdi:replay" }),
          t("clips.replay"),
        ),
        clip.video_url ? h("a", { slot: "secondaryAction", href: clip.video_url, target: "_blank", rel: "noopener" }, h("ha-button", { appearance: "plain" }, t("clips.open_mp4"))) : null,
        h("ha-button", { slot: "primaryAction", class: "back-to-live", onclick: () => (dialog.open = false) }, h("ha-icon", { slot: "start", icon: "mdi:cctv" }), t("clips.back_to_live")),
      ),
    );
    dialog.addEventListener("closed", () => dialog.remove()); // the replay's connection with it
    (this.shadowRoot ?? this).append(dialog);
  }
}
