// @ts-check
/**
 * The selected camera's recorded clips: a list (newest first, thumbnail, start, duration, reason)
 * and a player. A clip plays in Home Assistant's dialog as the hub's MJPEG replay in an <img>
 * (`/api/esp32_camera/clip/...`, signed): every clip plays, at its recorded pace, with no video
 * codec in the browser. Closing the dialog is the way back to the live view. The list is read when
 * the camera changes, on refresh, and when the camera's pushed payload says a clip or its MP4 was
 * written (its `clips` figures): never on a timer.
 *
 * The player (`ClipPlayer`) pauses, seeks and ends like a video (issue 20: a finished clip looked
 * frozen): the replay's `start` query begins at any second, `still=1` is the one frame a paused
 * player shows, each URL signed by Home Assistant (`auth/sign_path`, which covers the query). The
 * progress is the time since the replay began at its start (the server paces the frames); at the
 * clip's `replay` length the player says it ended and offers to play again.
 */
import { CSS } from "./styles.js";
import { DOMAIN, formatBytes, formatDuration, formatTime, h, icon, signedUrl } from "./util.js";
import { localeOf, translator } from "./i18n.js";

/** Clips listed in the panel (the newest). */
const CLIPS_SHOWN = 12;

/** How long a signed replay or still URL stays valid (s): a replay starts within it. */
const SIGNED_FOR = 300;
/** How often the progress is drawn while the clip plays (ms). */
const PROGRESS_EVERY = 100;

/**
 * @typedef {{ name: string, started_at: string, reason: string, frames: number | null,
 *   duration: number | null, replay: number | null, width: number | null, height: number | null,
 *   size: number | null, replay_url: string | null, video_url: string | null,
 *   thumbnail_url: string | null }} Clip
 */

/** "0:07", to the nearest second (so a clip's end reads as its length) @param {number} seconds */
function clock(seconds) {
  const whole = Math.max(0, Math.round(seconds));
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
}

/**
 * A clip's player: the replay in an <img>, play/pause, a seek bar, the time, and an end state.
 * Paused or ended, the <img> holds one still frame (no open connection).
 */
export class ClipPlayer {
  /**
   * @param {import("./store.js").Hass} hass
   * @param {Clip} clip (its `replay_url`, signed, and `replay` length)
   * @param {import("./util.js").Translate} t
   * @param {string} alt
   */
  constructor(hass, clip, t, alt) {
    this.hass = hass;
    this.t = t;
    this.length = Math.max(0, clip.replay ?? clip.duration ?? 0);
    const url = new URL(/** @type {string} */ (clip.replay_url), window.location.origin);
    url.searchParams.delete("authSig");
    /** The replay's path without a signature: each start and still is signed anew. */
    this.path = url.pathname;
    this.position = 0; // seconds of the replay
    this.playing = false;
    this.ended = false;
    this.startedAt = 0; // performance.now() when the replay would have been at 0
    /** @type {number | undefined} */
    this.timer = undefined;
    this.request = 0; // the newest URL asked for: a slower, older answer is dropped
    this.dragging = false; // the seek bar is held: it shows where it would go
    this.image = h("img", { class: "replay", alt, src: clip.replay_url });
    this.endButton = h(
      "ha-button",
      { class: "play-again", onclick: () => this.playFrom(0) },
      h("ha-icon", { slot: "start", icon: "mdi:replay" }),
      t("clips.replay"),
    );
    this.endNote = h("div", { class: "ended", hidden: true }, h("div", { class: "ended-text" }, t("clips.ended")), this.endButton);
    this.toggle = h("ha-button", { class: "play-pause", appearance: "plain", onclick: () => this.togglePlay() });
    this.seek = h("input", {
      class: "seek",
      type: "range",
      min: "0",
      max: String(this.length),
      step: "0.05",
      value: "0",
      "aria-label": t("clips.seek"),
      oninput: () => this.seeking(),
      onchange: () => this.seekTo(Number(this.seek.value)),
    });
    this.time = h("span", { class: "time" });
    this.element = h(
      "div",
      { class: "player" },
      h("div", { class: "stage" }, this.image, this.endNote),
      h("div", { class: "controls" }, this.toggle, this.seek, this.time),
    );
    this.playing = true;
    this.startedAt = performance.now();
    this.tick();
    this.timer = window.setInterval(() => this.tick(), PROGRESS_EVERY);
  }

  /** The seconds of the replay on screen now. */
  now() {
    return this.playing ? Math.min(this.length, (performance.now() - this.startedAt) / 1000) : this.position;
  }

  /** Draw the progress; end the clip at its length. */
  tick() {
    const position = this.now();
    if (this.playing && position >= this.length) {
      this.playing = false;
      this.ended = true;
      this.position = this.length;
    }
    if (!this.dragging) this.seek.value = String(this.ended ? this.length : position);
    this.time.textContent = `${clock(this.dragging ? Number(this.seek.value) : position)} / ${clock(this.length)}`;
    const t = this.t;
    const label = this.ended ? t("clips.replay") : this.playing ? t("clips.pause") : t("clips.play");
    const iconName = this.ended ? "replay" : this.playing ? "pause" : "play";
    if (this.toggle.dataset.state !== iconName) {
      this.toggle.dataset.state = iconName;
      this.toggle.replaceChildren(h("ha-icon", { slot: "start", icon: `mdi:${iconName}` }), label);
      this.toggle.setAttribute("aria-label", label);
    }
    this.endNote.hidden = !this.ended;
    this.element.classList.toggle("is-ended", this.ended);
  }

  togglePlay() {
    if (this.ended) this.playFrom(0);
    else if (this.playing) this.pause();
    else this.playFrom(this.position);
  }

  pause() {
    this.position = this.now();
    this.playing = false;
    this.show(this.position, true);
    this.tick();
  }

  /** @param {number} position */
  playFrom(position) {
    this.position = Math.min(Math.max(0, position), this.length);
    this.ended = false;
    this.playing = true;
    this.startedAt = performance.now() - this.position * 1000;
    this.show(this.position, false);
    this.tick();
  }

  /** The seek bar moves under the finger: show where it would go, play on when released. */
  seeking() {
    this.dragging = true;
    this.time.textContent = `${clock(Number(this.seek.value))} / ${clock(this.length)}`;
  }

  /** @param {number} position */
  seekTo(position) {
    this.dragging = false;
    if (this.playing || this.ended) this.playFrom(position);
    else {
      this.position = Math.min(Math.max(0, position), this.length);
      this.show(this.position, true);
      this.tick();
    }
  }

  /**
   * Show the replay from `position`, or its still frame there, signed by Home Assistant.
   * @param {number} position @param {boolean} still
   */
  async show(position, still) {
    const request = ++this.request;
    const query = `start=${position.toFixed(3)}${still ? "&still=1" : ""}`;
    try {
      const url = await signedUrl(this.hass, `${this.path}?${query}`, SIGNED_FOR);
      if (request === this.request) this.image.src = url.href;
    } catch (err) {
      console.warn("esp32_camera: cannot sign the clip's replay", err);
    }
  }

  /** The dialog closed: stop the timer and the replay's connection. */
  close() {
    window.clearInterval(this.timer);
    this.request++;
    this.image.removeAttribute("src");
  }
}

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
        .clip-player .stage { background: #000; display: flex; justify-content: center; position: relative; }
        .clip-player img.replay { width: 100%; height: auto; max-height: 70vh; object-fit: contain; display: block; }
        .clip-player .is-ended img.replay { opacity: 0.45; }
        .clip-player .ended {
          position: absolute; inset: 0; display: flex; flex-direction: column; align-items: center;
          justify-content: center; gap: 12px; color: #fff; font-size: 18px;
        }
        .clip-player .ended[hidden] { display: none; }
        .clip-player .controls { display: flex; align-items: center; gap: 8px; margin-top: 8px; }
        .clip-player .seek { flex: 1; min-width: 80px; accent-color: var(--primary-color); height: 24px; }
        .clip-player .time {
          font-variant-numeric: tabular-nums; color: var(--secondary-text-color); font-size: 13px;
          min-width: 84px; text-align: right;
        }
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
    const player = new ClipPlayer(/** @type {import("./store.js").Hass} */ (this._hass), clip, t, title);
    const details = [this.describe(clip), clip.frames === null ? null : t("clips.frames", { frames: clip.frames }), clip.size === null ? null : formatBytes(clip.size, locale)];
    const dialog = h(
      "ha-dialog",
      { open: true, headerTitle: title, "header-title": title, width: "large", class: "clip-player" },
      player.element,
      h("div", { class: "details" }, details.filter(Boolean).join(" · ")),
      h(
        "ha-dialog-footer",
        { slot: "footer" },
        clip.video_url ? h("a", { slot: "secondaryAction", href: clip.video_url, target: "_blank", rel: "noopener" }, h("ha-button", { appearance: "plain" }, t("clips.open_mp4"))) : null,
        h("ha-button", { slot: "primaryAction", class: "back-to-live", onclick: () => (dialog.open = false) }, h("ha-icon", { slot: "start", icon: "mdi:cctv" }), t("clips.back_to_live")),
      ),
    );
    dialog.addEventListener("closed", () => {
      player.close(); // the replay's connection and the progress timer with it
      dialog.remove();
    });
    (this.shadowRoot ?? this).append(dialog);
  }
}
