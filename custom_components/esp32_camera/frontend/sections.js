// @ts-check
/** The panel's image-saving section and the statistics (also in the card). */
import { CSS } from "./styles.js";
import { DOMAIN, formatBytes, formatDate, formatDuration, formatNumber, formatTime, h, icon, setBreakableText } from "./util.js";
import { localeOf, translator } from "./i18n.js";

export class Esp32CameraSaving extends HTMLElement {
  constructor() {
    super();
    this.attachShadow({ mode: "open" });
    /** @type {number | null} */
    this.galleryTotal = null;
    this.galleryAt = 0;
    /** @type {string | null} the date whose hours are shown */
    this.countsDate = null;
    /** @type {any} */
    this.counts = null;
    /** @type {import("./store.js").Hass | undefined} */
    this._hass = undefined;
    /** @type {import("./store.js").CameraStore | undefined} */
    this.store = undefined;
    /** @type {import("./store.js").Camera | undefined} */
    this.camera = undefined;
    const refs = (this.refs = /** @type {Record<string, any>} */ ({}));
    refs.switch = h("ha-switch", {
      onchange: () => this.camera && this.store?.setSaver(this, this.camera, refs.switch.checked, this.t),
    });
    refs.switchLabel = h("span");
    refs.status = h("span", { class: "muted small" });
    refs.saveNowLabel = document.createTextNode("");
    refs.saveNow = h("ha-button", { class: "save-now", onclick: () => this.saveNow() }, h("ha-icon", { slot: "start", icon: "mdi:content-save" }), refs.saveNowLabel);
    refs.error = h("ha-alert", { alertType: "error", "alert-type": "error", hidden: true });
    refs.names = ["saved", "today", "size", "last"].map(() => h("div", { class: "name" }));
    refs.total = h("div", { class: "number" });
    refs.today = h("div", { class: "number" });
    refs.size = h("div", { class: "number" });
    refs.last = h("div", { class: "number small" });
    refs.gallery = h("div", { class: "gallery" });
    refs.empty = h("div", { class: "muted small" });
    refs.days = h("div", { class: "days" });
    refs.hoursTitle = h("div", { class: "name" });
    refs.hours = h("div", { class: "hours", role: "img" });
    refs.perDay = h("div", { class: "section-title" });
    refs.galleryTitle = h("div", { class: "section-title" });
    refs.counts = h(
      "div",
      { class: "counts", hidden: true },
      refs.perDay,
      refs.days,
      h("div", { class: "stat", style: "margin-top:8px" }, refs.hoursTitle, refs.hours, h("div", { class: "hour-axis" }, ...["00", "06", "12", "18"].map((hour) => h("span", {}, `${hour}:00`)))),
    );
    const stat = (/** @type {number} */ index, /** @type {any} */ value, extra = "") => h("div", { class: `stat ${extra}` }, refs.names[index], value);
    this.shadowRoot?.append(
      h(
        "style",
        {},
        CSS,
        `
        .gallery { display: grid; grid-template-columns: repeat(auto-fill, minmax(88px, 1fr)); gap: 6px; margin-top: 8px; }
        .gallery a { display: block; aspect-ratio: 4 / 3; border-radius: 6px; overflow: hidden; background: var(--secondary-background-color); }
        .gallery img { width: 100%; height: 100%; object-fit: cover; display: block; }
        .stat.wide { grid-column: 1 / -1; }
        .stats.three { grid-template-columns: repeat(3, minmax(0, 1fr)); }
        .days { display: flex; flex-direction: column; gap: 2px; }
        button.day {
          display: grid; grid-template-columns: minmax(6.5em, auto) 1fr minmax(3.5em, auto); align-items: center; gap: 10px;
          font: inherit; font-size: 13px; color: var(--primary-text-color); text-align: left;
          background: transparent; border: none; border-radius: 6px; padding: 4px 8px; cursor: pointer;
        }
        button.day:hover { background: rgba(var(--rgb-primary-color, 3, 169, 244), 0.08); }
        button.day.selected { background: rgba(var(--rgb-primary-color, 3, 169, 244), 0.16); }
        .day .bar { height: 6px; border-radius: 3px; background: var(--secondary-background-color, #f0f0f0); overflow: hidden; }
        .day .bar > span { display: block; height: 100%; background: var(--primary-color); border-radius: 3px; }
        .day .count { text-align: right; color: var(--secondary-text-color); font-variant-numeric: tabular-nums; }
        .hours { display: grid; grid-template-columns: repeat(24, minmax(0, 1fr)); gap: 2px; align-items: end; height: 44px; margin-top: 6px; }
        .hours > div { height: 100%; display: flex; align-items: flex-end; border-radius: 2px; background: var(--divider-color, rgba(127, 127, 127, 0.2)); }
        .hours > div > span { display: block; width: 100%; border-radius: 2px; background: var(--primary-color); }
        .hour-axis { display: grid; grid-template-columns: repeat(4, 1fr); font-size: 11px; color: var(--secondary-text-color); margin-top: 2px; }
      `,
      ),
      h("label", { class: "row" }, icon("content-save-all"), h("span", { class: "label" }, refs.switchLabel, h("br"), refs.status), refs.switch),
      refs.error,
      h("div", { class: "stats three" }, stat(0, refs.total), stat(1, refs.today), stat(2, refs.size)),
      h("div", { class: "stats", style: "margin-top:8px" }, stat(3, refs.last, "wide")),
      h("div", { class: "buttons" }, refs.saveNow),
      refs.counts,
      refs.galleryTitle,
      refs.empty,
      refs.gallery,
    );
  }

  get t() {
    return translator(this._hass);
  }

  /**
   * @param {import("./store.js").Hass} hass
   * @param {import("./store.js").CameraStore} store
   * @param {import("./store.js").Camera} camera
   */
  show(hass, store, camera) {
    const changed = this.camera?.camera_id !== camera.camera_id;
    this._hass = hass;
    this.store = store;
    this.camera = camera;
    const { refs, t } = this;
    const locale = localeOf(hass);
    const saver = camera.saver;
    const admin = Boolean(hass.user?.is_admin);
    const hub = store.hubOf(camera);
    refs.switchLabel.textContent = t("saving.continuous");
    refs.switch.disabled = !admin || !store.online || hub?.saver.state === "error";
    if (this.shadowRoot?.activeElement !== refs.switch) refs.switch.checked = saver.enabled;
    refs.status.textContent = saver.enabled
      ? saver.dropped
        ? t("saving.on_dropped", { dropped: formatNumber(saver.dropped, locale) })
        : t("state.on")
      : t("state.off");
    refs.error.hidden = !hub?.saver.error;
    refs.error.textContent = hub?.saver.error ?? "";
    const canSnapshot = Boolean(hass.services?.[DOMAIN]?.snapshot) && Boolean(camera.entity_id);
    refs.saveNowLabel.textContent = t("saving.save_now");
    // A snapshot is any user's (permissions.py); continuous saving is an administrator's.
    refs.saveNow.disabled = !canSnapshot || !store.online;
    refs.saveNow.title = canSnapshot ? t("saving.save_now_title") : t("saving.no_action");
    ["saving.saved", "saving.today", "saving.size", "saving.last"].forEach((key, index) => (refs.names[index].textContent = t(key)));
    refs.total.textContent = formatNumber(saver.saved_total, locale);
    refs.today.textContent = formatNumber(saver.saved_today, locale);
    refs.size.textContent = formatBytes(saver.saved_bytes, locale);
    setBreakableText(refs.last, saver.last_saved_path ? `${saver.last_saved_path.split("/").slice(-3).join("/")} · ${formatTime(saver.last_saved_at, locale)}` : "–");
    refs.perDay.textContent = t("saving.per_day");
    refs.galleryTitle.textContent = t("saving.gallery");
    if (!this.galleryError) refs.empty.textContent = t("saving.empty");
    // The gallery follows new saves, at most every 5 s.
    if (store.online && (changed || (saver.saved_total !== this.galleryTotal && Date.now() - this.galleryAt > 5000))) {
      this.galleryTotal = saver.saved_total;
      this.loadGallery();
    }
  }

  async loadGallery() {
    if (!this.camera || !this._hass) return;
    this.galleryAt = Date.now();
    const cameraId = this.camera.camera_id;
    const locale = localeOf(this._hass);
    try {
      const { images, counts } = await this._hass.connection.sendMessagePromise({ type: `${DOMAIN}/gallery`, camera_id: cameraId, limit: 12 });
      if (cameraId !== this.camera.camera_id) return;
      this.galleryError = false;
      this.counts = counts;
      this.renderCounts();
      this.refs.empty.hidden = images.length > 0;
      this.refs.gallery.replaceChildren(
        ...images.map((/** @type {any} */ image) =>
          h("a", { href: image.url, target: "_blank", rel: "noopener", title: `${image.name}\n${formatTime(image.saved_at, locale)}` }, h("img", { src: image.url, decoding: "async", alt: image.name })),
        ),
      );
    } catch (err) {
      this.galleryError = true;
      this.refs.empty.hidden = false;
      this.refs.empty.textContent = this.t("saving.gallery_failed", { reason: String(/** @type {any} */ (err)?.message || err) });
    }
  }

  /** Saved images per day (the newest seven) and per hour of the chosen day. */
  renderCounts() {
    const { refs, t } = this;
    const locale = localeOf(this._hass);
    const days = /** @type {[string, number][]} */ (Object.entries(this.counts?.by_date ?? {}).slice(0, 7));
    const hourly = this.counts?.by_hour ?? {};
    refs.counts.hidden = days.length === 0;
    if (!days.length) return;
    if (!this.countsDate || !(this.countsDate in hourly)) this.countsDate = Object.keys(hourly)[0];
    const most = Math.max(...days.map(([, count]) => count));
    refs.days.replaceChildren(
      ...days.map(([date, count]) =>
        h(
          "button",
          {
            class: `day${date === this.countsDate ? " selected" : ""}`,
            title: t("saving.day_title", { date: formatDate(date, locale), count: formatNumber(count, locale) }),
            onclick: () => {
              this.countsDate = date;
              this.renderCounts();
            },
          },
          h("span", {}, formatDate(date, locale)),
          h("span", { class: "bar" }, h("span", { style: `width:${(count / most) * 100}%` })),
          h("span", { class: "count" }, formatNumber(count, locale)),
        ),
      ),
    );
    const date = /** @type {string} */ (this.countsDate);
    const hours = hourly[date] ?? {};
    const peak = Math.max(1, ...Object.values(hours).map(Number));
    refs.hoursTitle.textContent = t("saving.per_hour", { date: formatDate(date, locale) });
    refs.hours.setAttribute("aria-label", t("saving.per_hour", { date: formatDate(date, locale) }));
    refs.hours.replaceChildren(
      ...Array.from({ length: 24 }, (_, index) => {
        const hour = String(index).padStart(2, "0");
        const count = hours[hour] ?? 0;
        return h("div", { title: t("saving.hour_title", { hour, count: formatNumber(count, locale) }) }, h("span", { style: `height:${(count / peak) * 100}%` }));
      }),
    );
  }

  async saveNow() {
    if (this.refs.saveNow.disabled || !this.store || !this._hass || !this.camera) return;
    const saved = await this.store.saveNow(this, this._hass, this.camera, this.t);
    if (saved) this.loadGallery();
  }
}

export class Esp32CameraStats extends HTMLElement {
  constructor() {
    super();
    this.attachShadow({ mode: "open" });
    this.cameraGrid = h("div", { class: "stats" });
    this.serverGrid = h("div", { class: "stats" });
    this.cameraTitle = h("div", { class: "section-title", style: "margin-top:0" });
    this.staleNote = h("div", { class: "muted small", hidden: true });
    this.serverTitle = h("div", { class: "section-title" });
    this.shadowRoot?.append(h("style", {}, CSS), this.cameraTitle, this.staleNote, this.cameraGrid, this.serverTitle, this.serverGrid);
  }

  /** @param {HTMLElement} grid @param {[string, string][]} rows */
  fill(grid, rows) {
    if (grid.childElementCount !== rows.length) {
      grid.replaceChildren(...rows.map(() => h("div", { class: "stat" }, h("div", { class: "name" }), h("div", { class: "number" }))));
    }
    rows.forEach(([name, value], index) => {
      const stat = /** @type {HTMLElement} */ (grid.children[index]);
      /** @type {HTMLElement} */ (stat.firstChild).textContent = name;
      setBreakableText(/** @type {HTMLElement} */ (stat.lastChild), value);
    });
  }

  /**
   * @param {import("./store.js").Hass} hass
   * @param {import("./store.js").CameraStore} store
   * @param {import("./store.js").Camera} camera
   * @param {{ server?: boolean }} [options]
   */
  show(hass, store, camera, { server = true } = {}) {
    const t = translator(hass);
    const locale = localeOf(hass);
    const health = camera.health ?? {};
    const stats = camera.stats;
    const rssi = health.rssi;
    const number = (/** @type {number | null | undefined} */ value, digits = 0) => formatNumber(value, locale, digits);
    // Health comes from the camera's last report: while it is away (rebooting) or Home Assistant
    // is unreachable, the values are the last known ones and look it.
    const stale = !camera.connected || !store.online;
    this.cameraTitle.textContent = t("stats.camera");
    this.staleNote.hidden = !stale;
    this.staleNote.textContent = store.online ? t("stats.stale_camera") : t("stats.stale_connection");
    this.cameraGrid.classList.toggle("stale", stale);
    this.fill(this.cameraGrid, [
      [t("stats.model"), health.model ?? "–"],
      [t("stats.frames_sent"), number(health.frames)],
      [t("stats.dropped"), number(health.dropped)],
      [t("stats.heap"), formatBytes(health.heap, locale)],
      [t("stats.min_heap"), formatBytes(health.min_heap, locale)],
      [t("stats.uptime"), formatDuration(health.uptime, t)],
      [t("stats.rssi"), rssi === null || rssi === undefined ? "–" : t("unit.dbm", { value: rssi })],
      [t("stats.resolution"), health.resolution_text ?? (stats.width ? `${stats.width}×${stats.height}` : "–")],
      [t("stats.frames_received"), number(stats.frames_received)],
      [t("stats.frames_failed"), number(stats.frames_failed)],
      [t("stats.bytes_received"), formatBytes(stats.bytes_received, locale)],
      [t("stats.bitrate"), t("unit.mbps", { value: number(stats.bitrate / 1e6, 2) })],
      [t("stats.last_frame"), formatBytes(stats.last_frame_size, locale)],
      [t("stats.reconnects"), number(camera.reconnects)],
      [t("stats.queued"), number(Object.keys(camera.queued_commands ?? {}).length)],
      [t("stats.firmware"), camera.firmware ?? "–"],
    ]);
    this.serverTitle.hidden = this.serverGrid.hidden = !server;
    if (!server) return;
    const hub = store.hubOf(camera);
    const hubStats = hub?.stats ?? {};
    this.serverTitle.textContent = t("stats.server");
    this.serverGrid.classList.toggle("stale", !store.online);
    this.fill(this.serverGrid, [
      [t("stats.hub"), hub?.title ?? "–"],
      [t("stats.connected"), number(hubStats.connected_cameras)],
      [t("stats.frames_received"), number(hubStats.frames_received)],
      [t("stats.frames_failed"), number(hubStats.frames_failed)],
      [t("stats.bytes_received"), formatBytes(hubStats.bytes_received, locale)],
      [t("stats.server_fps"), number(hubStats.fps, 1)],
      [t("stats.browsers"), number(hub?.frame_subscribers)],
      [t("stats.listening"), formatDuration(hubStats.uptime, t)],
    ]);
  }
}
