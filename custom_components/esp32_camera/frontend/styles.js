// @ts-check
/** The styles every element shares: Home Assistant's theme variables, nothing of its own colour. */
export const CSS = `
  :host {
    display: block;
    color: var(--primary-text-color);
    font-family: var(--ha-font-family-body, Roboto, Noto, sans-serif);
    -webkit-font-smoothing: antialiased;
  }
  .card {
    background: var(--ha-card-background, var(--card-background-color, #fff));
    border-radius: var(--ha-card-border-radius, 12px);
    border: var(--ha-card-border-width, 1px) solid var(--ha-card-border-color, var(--divider-color, #e0e0e0));
    box-shadow: var(--ha-card-box-shadow, none);
    overflow: hidden;
  }
  .card-header {
    display: flex; align-items: center; gap: 8px;
    padding: 12px 16px 4px;
    font-size: var(--ha-card-header-font-size, 20px);
    line-height: 32px;
  }
  .card-header .grow { flex: 1; min-width: 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  .card-content { padding: 8px 16px 16px; }
  .muted { color: var(--secondary-text-color); }
  .small { font-size: 12px; }
  .row { display: flex; align-items: center; gap: 12px; min-height: 40px; padding: 4px 0; }
  .row > .label { flex: 1; min-width: 0; }
  .row ha-icon { color: var(--state-icon-color, var(--secondary-text-color)); --mdc-icon-size: 24px; }
  .section-title { font-size: 14px; font-weight: 500; color: var(--secondary-text-color); margin: 12px 0 4px; }
  .buttons { display: flex; flex-wrap: wrap; gap: 8px; padding: 12px 0 0; }
  ha-alert { display: block; margin: 4px 0 8px; }
  button.icon {
    width: 40px; height: 40px; border-radius: 50%; border: none; cursor: pointer;
    background: transparent; color: inherit; display: inline-flex; align-items: center; justify-content: center;
  }
  button.icon:hover { background: rgba(127, 127, 127, 0.15); }
  button.icon.active { color: var(--primary-color); }
  button:focus-visible { outline: 3px solid var(--primary-color); outline-offset: 2px; }
  .stats { display: grid; grid-template-columns: repeat(auto-fill, minmax(130px, 1fr)); gap: 8px; }
  .stat { background: var(--secondary-background-color, #f5f5f5); border-radius: 8px; padding: 8px 10px; }
  .stat .name { font-size: 12px; color: var(--secondary-text-color); }
  .stat .number { font-size: 16px; font-variant-numeric: tabular-nums; margin-top: 2px; overflow-wrap: break-word; }
  /* Long values wrap at their separators (setBreakableText), mid-word only when a part is wider than the box. */
  .stale .number, .stale .value { color: var(--disabled-text-color, #9e9e9e); font-style: italic; }
  .chip {
    display: inline-flex; align-items: center; gap: 4px; border-radius: 12px; padding: 2px 10px;
    font-size: 13px; background: var(--secondary-background-color, #f0f0f0); white-space: nowrap;
  }
  .chip.warning { background: var(--warning-color, #ffa600); color: #000; }
  .dot { width: 8px; height: 8px; border-radius: 50%; background: var(--disabled-text-color, #9e9e9e); flex: none; }
  .dot.on { background: var(--success-color, #43a047); }
  .good { background: var(--success-color, #43a047); }
  .fair { background: var(--warning-color, #ffa600); }
  .poor { background: var(--error-color, #db4437); }
  [hidden] { display: none !important; }
`;
