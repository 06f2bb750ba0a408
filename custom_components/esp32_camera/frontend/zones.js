// @ts-check
/**
 * Motion zones and mask areas over the live video: an SVG in the picture's own coordinates (its
 * viewBox is the frame size and it letterboxes like the image's `object-fit: contain`), re-drawn
 * only when the areas, the frame size, the editor or the zones seeing motion change, never per
 * frame; a zone that sees motion now is filled with its colour. Administrators edit
 * them: drag a rectangle or click a polygon's corners (pointer events: mouse, pen and touch), name
 * each area and make it a zone (named in motion events) or a mask (never analysed), then save
 * (`esp32_camera/motion_zones`) or cancel. The limits come from the server.
 */
import { DOMAIN, h, icon, notify, setHidden } from "./util.js";
import { translator } from "./i18n.js";

const SVG_NS = "http://www.w3.org/2000/svg";
/** A pointer that moved less than this (CSS px) between press and release clicked. */
const CLICK_SLOP_PX = 6;
/** A click this close (CSS px) to a polygon's first corner closes it (a finger is wider). */
const CLOSE_RADIUS_PX = { mouse: 12, touch: 24 };
/** A dragged rectangle smaller than this share of the picture, in either direction, is a click. */
const MIN_SIZE = 0.01;
const ZONE_COLOURS = ["#ffc107", "#03a9f4", "#8bc34a", "#e91e63", "#ff7043", "#ba68c8", "#26c6da", "#d4e157"];

/**
 * @typedef {[number, number]} Point normalised: 0..1 from the picture's top left
 * @typedef {{ name: string, points: Point[] }} Area an area as the server keeps it
 * @typedef {Area & { kind: "zone" | "mask" }} EditedArea
 * @typedef {{ areas: number, points: number, name_length: number }} ZoneLimits
 */

/**
 * An SVG element with attributes.
 * @param {string} tag
 * @param {Record<string, string | number>} [attributes]
 * @param {...(Node | string)} children
 */
function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  element.append(...children);
  return element;
}

/** The camera's areas, zones first. @param {import("./store.js").Camera} camera @returns {EditedArea[]} */
function areasOf(camera) {
  const motion = camera.motion ?? { zones: [], mask: [] };
  return [
    ...motion.zones.map((/** @type {Area} */ area) => ({ ...area, kind: /** @type {const} */ ("zone") })),
    ...motion.mask.map((/** @type {Area} */ area) => ({ ...area, kind: /** @type {const} */ ("mask") })),
  ];
}

/** @param {number} value */
const clamp = (value) => Math.min(1, Math.max(0, value));
/** @param {number} value */
const round4 = (value) => Math.round(value * 10000) / 10000;

/** The corners of the rectangle spanned by two points. @param {Point} a @param {Point} b @returns {Point[]} */
function rectangle(a, b) {
  const [left, right] = [Math.min(a[0], b[0]), Math.max(a[0], b[0])];
  const [top, bottom] = [Math.min(a[1], b[1]), Math.max(a[1], b[1])];
  return [[left, top], [right, top], [right, bottom], [left, bottom]];
}

export const ZONES_CSS = `
  svg.zones { position: absolute; inset: 0; width: 100%; height: 100%; pointer-events: none; overflow: visible; }
  svg.zones.editing { pointer-events: all; touch-action: none; cursor: crosshair; z-index: 1; }
  svg.zones polygon, svg.zones polyline { vector-effect: non-scaling-stroke; stroke-width: 2; stroke-linejoin: round; }
  svg.zones .zone { fill: rgba(255, 255, 255, 0.06); }
  svg.zones .zone.moving { fill: var(--zone-colour); fill-opacity: 0.35; stroke-width: 4; }
  svg.zones .mask { fill: rgba(0, 0, 0, 0.55); stroke: rgba(255, 255, 255, 0.85); stroke-dasharray: 6 4; }
  svg.zones .selected { stroke-width: 4; }
  svg.zones .draft { fill: rgba(255, 255, 255, 0.15); stroke: #fff; stroke-dasharray: 4 3; }
  svg.zones polyline.draft { fill: none; }
  svg.zones circle { fill: #fff; stroke: #000; vector-effect: non-scaling-stroke; stroke-width: 1; }
  svg.zones text { paint-order: stroke; stroke: rgba(0, 0, 0, 0.75); font-family: var(--ha-font-family-body, Roboto, sans-serif); font-weight: 500; }
  .video.zoomed svg.zones { display: none; }
  .zone-editor { display: flex; flex-direction: column; gap: 8px; padding: 8px 12px 12px; border-top: 1px solid var(--divider-color); }
  .zone-editor .row { display: flex; flex-wrap: wrap; align-items: center; gap: 6px; min-height: 0; padding: 0; }
  .zone-editor .hint { flex: 1 1 200px; font-size: 13px; color: var(--secondary-text-color); }
  .zone-editor .chip { cursor: pointer; border: 2px solid transparent; font: inherit; font-size: 13px; color: var(--primary-text-color); }
  .zone-editor .chip.selected { border-color: var(--primary-color); }
  .zone-editor .swatch { width: 12px; height: 12px; border-radius: 3px; flex: none; }
  .zone-editor .swatch.mask { background: repeating-linear-gradient(45deg, #000 0 3px, #888 3px 6px); }
  .zone-editor ha-form { flex: 1 1 260px; }
  .zone-editor .grow { flex: 1; }
  .stage:fullscreen .zone-editor { background: var(--card-background-color, #fff); }
`;

export class ZoneOverlay {
  /**
   * @param {Element} host the element toasts come from
   * @param {{ beforeEdit: () => void }} options `beforeEdit` runs when editing starts (the
   *   viewer leaves its zoom: the overlay follows the fitted picture)
   */
  constructor(host, { beforeEdit }) {
    this.host = host;
    this.beforeEdit = beforeEdit;
    /** @type {import("./store.js").Hass | undefined} */
    this._hass = undefined;
    /** @type {import("./store.js").CameraStore | undefined} */
    this.store = undefined;
    /** @type {import("./store.js").Camera | undefined} */
    this.camera = undefined;
    this.editing = false;
    this.saving = false;
    /** @type {EditedArea[]} what is shown: the camera's areas, or the draft while editing */
    this.areas = [];
    this.selected = -1;
    /** @type {"rectangle" | "polygon"} */
    this.shape = "rectangle";
    /** @type {Point[]} the corners of the polygon being drawn */
    this.corners = [];
    /** @type {{ x: number, y: number, point: Point, target: EventTarget | null } | null} */
    this.pressed = null;
    /** @type {[number, number]} the picture's size: the SVG's coordinates */
    this.size = [4, 3];
    this.drawnKey = "";
    this.barKey = "";
    /** @type {{ areas: EditedArea[], before: string } | null} saved, until the camera's payload has them */
    this.justSaved = null;
    /** @type {string[]} the zones that see motion now (lit; not while editing) */
    this.moving = [];

    this.svg = /** @type {SVGSVGElement} */ (svg("svg", { class: "zones", preserveAspectRatio: "xMidYMid meet", "aria-hidden": "true" }));
    this.shapes = svg("g");
    this.draft = svg("g");
    this.svg.append(this.shapes, this.draft);
    this.svg.addEventListener("pointerdown", (/** @type {PointerEvent} */ event) => this.pointerDown(event));
    this.svg.addEventListener("pointermove", (/** @type {PointerEvent} */ event) => this.pointerMove(event));
    this.svg.addEventListener("pointerup", (/** @type {PointerEvent} */ event) => this.pointerUp(event));
    this.svg.addEventListener("pointercancel", () => this.pointerCancel());
    // While editing, presses are drawing: not the card's tap and hold actions.
    this.svg.addEventListener("click", (/** @type {MouseEvent} */ event) => this.editing && event.stopPropagation());

    const refs = (this.refs = /** @type {Record<string, any>} */ ({}));
    this.tool = h("button", { class: "icon zone-tool", hidden: true, onclick: () => (this.editing ? this.cancel() : this.edit()) }, icon("vector-square-edit"));
    refs.rectangle = h("button", { class: "icon shape-rectangle", onclick: () => this.chooseShape("rectangle") }, icon("rectangle-outline"));
    refs.polygon = h("button", { class: "icon shape-polygon", onclick: () => this.chooseShape("polygon") }, icon("vector-polygon"));
    refs.hint = h("span", { class: "hint" });
    refs.chips = h("div", { class: "row chips" });
    refs.form = h("ha-form", { schema: [], data: {} });
    refs.form.addEventListener("value-changed", (/** @type {CustomEvent} */ event) => this.changeSelected(event.detail.value));
    refs.deleteLabel = document.createTextNode("");
    refs.delete = h("ha-button", { class: "zone-delete", appearance: "plain", size: "s", variant: "danger", onclick: () => this.deleteSelected() }, h("ha-icon", { slot: "start", icon: "mdi:delete" }), refs.deleteLabel);
    refs.selectedRow = h("div", { class: "row" }, refs.form, refs.delete);
    refs.error = h("ha-alert", { alertType: "error", "alert-type": "error", hidden: true });
    refs.cancelLabel = document.createTextNode("");
    refs.cancel = h("ha-button", { class: "zone-cancel", appearance: "plain", size: "s", onclick: () => this.cancel() }, refs.cancelLabel);
    refs.saveLabel = document.createTextNode("");
    refs.save = h("ha-button", { class: "zone-save", size: "s", onclick: () => this.save() }, h("ha-icon", { slot: "start", icon: "mdi:content-save" }), refs.saveLabel);
    this.bar = h(
      "div",
      { class: "zone-editor", hidden: true },
      h("div", { class: "row" }, refs.rectangle, refs.polygon, refs.hint),
      refs.chips,
      refs.selectedRow,
      refs.error,
      h("div", { class: "row" }, h("span", { class: "grow" }), refs.cancel, refs.save),
    );
  }

  get t() {
    return translator(this._hass);
  }

  /** @returns {ZoneLimits} */
  get limits() {
    return this.store?.zoneLimits ?? { areas: Infinity, points: Infinity, name_length: Infinity };
  }

  /**
   * Show `camera`'s areas (a store update, about once a second: drawn again only when changed).
   * @param {import("./store.js").Hass} hass
   * @param {import("./store.js").Camera} camera
   * @param {import("./store.js").CameraStore} store
   * @param {string[]} [moving] the zones that see motion now
   */
  show(hass, camera, store, moving = []) {
    const changed = this.camera?.camera_id !== camera.camera_id;
    this._hass = hass;
    this.store = store;
    this.camera = camera;
    this.refs.form.hass = hass;
    if (changed && this.editing) this.stopEditing();
    if (changed) this.justSaved = null;
    const admin = Boolean(hass.user?.is_admin);
    if (!admin && this.editing) this.stopEditing();
    const t = this.t;
    setHidden(this.tool, !admin);
    this.tool.title = this.tool.ariaLabel = t("zones.edit");
    this.tool.classList.toggle("active", this.editing);
    const width = camera.stats.width || this.size[0];
    const height = camera.stats.height || this.size[1];
    if (width !== this.size[0] || height !== this.size[1] || !this.svg.hasAttribute("viewBox")) {
      this.size = [width, height];
      this.svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    }
    if (!this.editing) this.areas = this.camerasAreas();
    this.moving = moving;
    this.render();
  }

  /** The camera's areas, or those just saved until its payload has them. */
  camerasAreas() {
    const camera = /** @type {import("./store.js").Camera} */ (this.camera);
    if (this.justSaved && JSON.stringify(camera.motion) === this.justSaved.before) return this.justSaved.areas;
    this.justSaved = null;
    return areasOf(camera);
  }

  edit() {
    if (!this.camera) return;
    this.beforeEdit();
    this.editing = true;
    this.areas = this.camerasAreas().map((area) => ({ ...area, points: [...area.points] }));
    this.selected = -1;
    this.corners = [];
    this.refs.error.hidden = true;
    this.tool.classList.add("active");
    this.render();
  }

  cancel() {
    this.stopEditing();
    this.render();
  }

  stopEditing() {
    this.editing = false;
    this.pressed = null;
    this.corners = [];
    this.tool.classList.remove("active");
    if (this.camera) this.areas = this.camerasAreas();
  }

  async save() {
    const camera = this.camera;
    const hass = this._hass;
    if (!camera || !hass || this.saving) return;
    const t = this.t;
    /** @param {"zone" | "mask"} kind */
    const ofKind = (kind) =>
      this.areas.filter((area) => area.kind === kind).map((area) => ({ name: area.name, points: area.points.map(([x, y]) => [round4(x), round4(y)]) }));
    this.saving = true;
    this.renderBar();
    try {
      const result = await hass.connection.sendMessagePromise({ type: `${DOMAIN}/motion_zones`, camera_id: camera.camera_id, zones: ofKind("zone"), mask: ofKind("mask") });
      this.justSaved = { areas: areasOf({ motion: result }), before: JSON.stringify(camera.motion) };
      notify(this.host, t("zones.saved", { camera: camera.name }));
      this.stopEditing();
    } catch (err) {
      // The draft stays: nothing is lost, the message says what to change.
      this.refs.error.hidden = false;
      this.refs.error.textContent = t("zones.save_failed", { reason: String(/** @type {any} */ (err)?.message || err) });
    } finally {
      this.saving = false;
      this.render();
    }
  }

  /** @param {"rectangle" | "polygon"} shape */
  chooseShape(shape) {
    this.shape = shape;
    this.corners = [];
    this.render();
  }

  /** The first free default name, "Zone 3" or "Mask 1". @param {"zone" | "mask"} kind */
  defaultName(kind) {
    const names = new Set(this.areas.map((area) => area.name));
    for (let number = 1; ; number += 1) {
      const name = this.t(`zones.default_${kind}`, { number });
      if (!names.has(name)) return name;
    }
  }

  /** Add a drawn area: a zone, or a mask once the zones are full. @param {Point[]} points */
  add(points) {
    const count = (/** @type {string} */ kind) => this.areas.filter((area) => area.kind === kind).length;
    const kind = count("zone") < this.limits.areas ? "zone" : count("mask") < this.limits.areas ? "mask" : null;
    if (!kind) {
      this.refs.error.hidden = false;
      this.refs.error.textContent = this.t("zones.limit", { max: this.limits.areas });
      return;
    }
    this.refs.error.hidden = true;
    this.areas.push({ name: this.defaultName(kind), kind, points });
    this.selected = this.areas.length - 1;
  }

  /** The selected area's name or kind changed in the form. @param {{ name?: string, kind?: "zone" | "mask" }} value */
  changeSelected(value) {
    const area = this.areas[this.selected];
    if (!area) return;
    if (value.kind && value.kind !== area.kind) {
      const full = this.areas.filter((other) => other.kind === value.kind).length >= this.limits.areas;
      this.refs.error.hidden = !full;
      this.refs.error.textContent = full ? this.t("zones.limit", { max: this.limits.areas }) : "";
      if (!full) area.kind = value.kind;
    }
    area.name = value.name ?? "";
    this.render();
  }

  deleteSelected() {
    if (this.selected < 0) return;
    this.areas.splice(this.selected, 1);
    this.selected = -1;
    this.refs.error.hidden = true;
    this.render();
  }

  // Drawing ---------------------------------------------------------------------------------

  /** Where a pointer is on the picture (0..1, clamped to it). @param {PointerEvent} event @returns {Point} */
  pointOf(event) {
    const matrix = this.svg.getScreenCTM();
    if (!matrix) return [0, 0];
    const point = new DOMPoint(event.clientX, event.clientY).matrixTransform(matrix.inverse());
    return [clamp(point.x / this.size[0]), clamp(point.y / this.size[1])];
  }

  /** Where a picture point is on the screen (CSS px). @param {Point} point */
  screenOf([x, y]) {
    const matrix = this.svg.getScreenCTM();
    return matrix ? new DOMPoint(x * this.size[0], y * this.size[1]).matrixTransform(matrix) : new DOMPoint();
  }

  /** @param {PointerEvent} event */
  pointerDown(event) {
    if (!this.editing || event.button !== 0) return;
    event.stopPropagation();
    event.preventDefault();
    this.svg.setPointerCapture(event.pointerId);
    this.pressed = { x: event.clientX, y: event.clientY, point: this.pointOf(event), target: event.target };
  }

  /** @param {PointerEvent} event */
  pointerMove(event) {
    if (!this.editing) return;
    const point = this.pointOf(event);
    if (this.shape === "rectangle" && this.pressed) this.drawDraft(rectangle(this.pressed.point, point), true);
    else if (this.shape === "polygon" && this.corners.length) this.drawDraft([...this.corners, point], false);
  }

  /** @param {PointerEvent} event */
  pointerUp(event) {
    const pressed = this.pressed;
    if (!this.editing || !pressed) return;
    event.stopPropagation();
    this.pressed = null;
    const point = this.pointOf(event);
    const moved = Math.hypot(event.clientX - pressed.x, event.clientY - pressed.y) > CLICK_SLOP_PX;
    if (this.shape === "rectangle") {
      const big = Math.abs(point[0] - pressed.point[0]) >= MIN_SIZE && Math.abs(point[1] - pressed.point[1]) >= MIN_SIZE;
      if (moved && big) this.add(rectangle(pressed.point, point));
      else this.selectAt(pressed.target);
    } else {
      const first = this.corners[0] && this.screenOf(this.corners[0]);
      const radius = event.pointerType === "mouse" ? CLOSE_RADIUS_PX.mouse : CLOSE_RADIUS_PX.touch;
      const closing = first && this.corners.length >= 3 && Math.hypot(event.clientX - first.x, event.clientY - first.y) <= radius;
      if (!closing) this.corners.push(point);
      if (closing || this.corners.length >= this.limits.points) {
        this.add(this.corners);
        this.corners = [];
      }
    }
    this.render();
  }

  pointerCancel() {
    this.pressed = null;
    this.drawDraft([], true);
  }

  /** Select the area that was clicked (its shape carries its index). @param {EventTarget | null} target */
  selectAt(target) {
    const index = /** @type {Element | null} */ (target)?.getAttribute?.("data-index");
    this.selected = index === null || index === undefined ? -1 : Number(index);
  }

  /** The shape being drawn, alone (a pointer move must not redraw every area). @param {Point[]} points @param {boolean} closed */
  drawDraft(points, closed) {
    const [width, height] = this.size;
    const text = points.map(([x, y]) => `${x * width},${y * height}`).join(" ");
    const radius = Math.max(width, height) / 160;
    this.draft.replaceChildren(
      ...(points.length ? [svg(closed ? "polygon" : "polyline", { class: "draft", points: text })] : []),
      ...(closed ? [] : this.corners.map(([x, y], index) => svg("circle", { cx: x * width, cy: y * height, r: index === 0 ? radius * 1.6 : radius }))),
    );
  }

  // Rendering -------------------------------------------------------------------------------

  render() {
    this.renderOverlay();
    this.renderBar();
  }

  /** Draw the areas when they, the size or the selection changed; light the zones seeing motion. */
  renderOverlay() {
    const key = JSON.stringify([this.areas, this.size, this.editing && this.selected]);
    this.svg.classList.toggle("editing", this.editing);
    if (this.shape === "polygon" && this.editing) this.drawDraft(this.corners, false);
    else this.drawDraft([], true);
    if (key !== this.drawnKey) this.drawAreas(key);
    // Motion lights its zones on the shapes drawn (they stay the same elements).
    const moving = this.editing ? [] : this.moving;
    for (const polygon of this.shapes.querySelectorAll("polygon.zone")) {
      polygon.classList.toggle("moving", moving.includes(polygon.parentElement?.getAttribute("data-name") ?? ""));
    }
  }

  /** Draw the areas anew. @param {string} key what they are drawn from */
  drawAreas(key) {
    this.drawnKey = key;
    const [width, height] = this.size;
    const font = Math.max(width, height) / 36;
    let zones = 0;
    this.shapes.replaceChildren(
      ...this.areas.map((area, index) => {
        const colour = area.kind === "zone" ? ZONE_COLOURS[zones++ % ZONE_COLOURS.length] : "#fff";
        const points = area.points.map(([x, y]) => `${x * width},${y * height}`).join(" ");
        const left = Math.min(...area.points.map(([x]) => x)) * width;
        const top = Math.min(...area.points.map(([, y]) => y)) * height;
        const selected = this.editing && index === this.selected ? " selected" : "";
        return svg(
          "g",
          { "data-name": area.name, "data-kind": area.kind },
          svg("polygon", { class: `${area.kind}${selected}`, points, stroke: colour, style: `--zone-colour: ${colour}`, "data-index": index }),
          svg("text", { x: left + font / 3, y: top + font * 1.1, fill: colour, "font-size": font, "stroke-width": font / 6, "pointer-events": "none" }, area.name),
        );
      }),
    );
  }

  /** The editor's bar; rebuilt only when what it shows changed (not under a pointer every second). */
  renderBar() {
    const { refs, t } = this;
    setHidden(this.bar, !this.editing);
    const key = JSON.stringify([this.editing, this._hass?.language, this.areas.map(({ name, kind }) => [name, kind]), this.selected, this.shape, this.saving, this.store?.online]);
    if (!this.editing || key === this.barKey) return;
    this.barKey = key;
    refs.rectangle.title = refs.rectangle.ariaLabel = t("zones.rectangle");
    refs.polygon.title = refs.polygon.ariaLabel = t("zones.polygon");
    refs.rectangle.classList.toggle("active", this.shape === "rectangle");
    refs.polygon.classList.toggle("active", this.shape === "polygon");
    refs.hint.textContent = this.areas.length ? t(`zones.hint_${this.shape}`) : `${t("zones.empty")} ${t(`zones.hint_${this.shape}`)}`;
    let zones = 0;
    refs.chips.replaceChildren(
      ...this.areas.map((area, index) =>
        h(
          "button",
          {
            class: `chip${index === this.selected ? " selected" : ""}`,
            "data-name": area.name,
            title: t(`zones.kind_${area.kind}`),
            onclick: () => {
              this.selected = index === this.selected ? -1 : index;
              this.render();
            },
          },
          h("span", { class: `swatch ${area.kind}`, style: area.kind === "zone" ? `background:${ZONE_COLOURS[zones++ % ZONE_COLOURS.length]}` : undefined }),
          area.name || "–",
        ),
      ),
    );
    const area = this.areas[this.selected];
    refs.selectedRow.hidden = !area;
    if (area) {
      if (refs.form.language !== this._hass?.language) {
        refs.form.language = this._hass?.language;
        const kinds = ["zone", "mask"].map((kind) => ({ value: kind, label: t(`zones.kind_${kind}`) }));
        refs.form.schema = [
          { name: "name", required: true, selector: { text: {} } },
          { name: "kind", selector: { select: { mode: "list", options: kinds } } },
        ];
        refs.form.computeLabel = (/** @type {{ name: string }} */ schema) => t(`zones.${schema.name}`);
      }
      if (refs.form.data?.name !== area.name || refs.form.data?.kind !== area.kind) refs.form.data = { name: area.name, kind: area.kind };
    }
    refs.deleteLabel.textContent = t("zones.delete");
    refs.cancelLabel.textContent = t("zones.cancel");
    refs.saveLabel.textContent = t("zones.save");
    refs.save.disabled = this.saving || !this.store?.online;
  }
}
